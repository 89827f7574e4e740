package dev.lattice.agent.peerapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PeerApiRoutesTest {
    static final PeerApiHandler A = r -> null, B = r -> null, C = r -> null, D = r -> null;

    @Test
    void prefixesWinLongestFirstThenExactPaths() {
        PeerApiRoutes r = new PeerApiRoutes().register("/v0/put/", A).registerPrefix("/dns-query", B)
                .register("/v0/env", C).register("/v0/put/x/", D);
        assertThat(r.find("/v0/put/file.txt")).isSameAs(A);
        assertThat(r.find("/v0/put/x/y")).isSameAs(D);
        assertThat(r.find("/dns-query")).isSameAs(B);
        assertThat(r.find("/dns-query/extra")).isSameAs(B);
        assertThat(r.find("/v0/env")).isSameAs(C);
        assertThat(r.find("/v0/env/")).isNull();
        assertThat(r.find("/")).isNull();
    }

    @Test
    void duplicatesAndRelativePathsAreRefused() {
        PeerApiRoutes r = new PeerApiRoutes().register("/v0/a", A);
        assertThatThrownBy(() -> r.register("/v0/a", B)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> r.register("v0/b", B)).isInstanceOf(IllegalArgumentException.class);
    }
}
