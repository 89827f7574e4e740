package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.Hostinfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TailnetNodeTest {
    static TailnetNode.Builder minimal() {
        return TailnetNode.builder().machineKey(MachinePrivateKey.generate().publicKey())
                .nodeKey(NodePrivateKey.generate().publicKey()).givenName("laptop");
    }

    @Test
    void aNewNodeHasDefaultsForWhatItDidNotSay() {
        TailnetNode n = minimal().build();
        assertThat(n.id()).isZero();
        assertThat(n.hostname()).isEmpty();
        assertThat(n.hostinfo()).isNull();
        assertThat(n.endpoints()).isEmpty();
        assertThat(n.tags()).isSameAs(NodeTags.NONE);
        assertThat(n.isTagged()).isFalse();
        assertThat(n.approvedRoutes()).isEmpty();
        assertThat(n.announcedRoutes()).isEmpty();
        assertThat(n.registerMethod()).isEqualTo(RegisterMethod.UNSPECIFIED);
        assertThat(n.isExpired(Instant.now())).isFalse();
    }

    @Test
    void toBuilderChangesOnlyWhatIsSet() {
        Hostinfo hi = Hostinfo.empty().withHostname("laptop").withRoutableIps(List.of(IpPrefix.parse("10.0.0.0/8")));
        TailnetNode n = minimal().id(7).hostname("laptop").hostinfo(hi).tags(NodeTags.of("tag:a"))
                .endpoints(List.of(AddrPort.parse("192.0.2.1:41641"))).registerMethod(RegisterMethod.CLI).build();
        assertThat(n.toBuilder().build()).isEqualTo(n);
        Instant expiry = Instant.parse("2030-01-01T00:00:00Z");
        TailnetNode m = n.toBuilder().expiry(expiry).build();
        assertThat(m.expiry()).isEqualTo(expiry);
        assertThat(m.toBuilder().expiry(null).build()).isEqualTo(n);
        assertThat(m.isExpired(expiry)).isTrue();
        assertThat(n.announcedRoutes()).containsExactly(IpPrefix.parse("10.0.0.0/8"));
        assertThat(n.isTagged()).isTrue();
    }

    @Test
    void listsAreCopied() {
        List<AddrPort> endpoints = new ArrayList<>(List.of(AddrPort.parse("192.0.2.1:41641")));
        TailnetNode n = minimal().endpoints(endpoints).build();
        endpoints.clear();
        assertThat(n.endpoints()).hasSize(1);
        assertThatThrownBy(() -> n.endpoints().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void keysAndTheGivenNameAreRequired() {
        assertThatThrownBy(() -> minimal().machineKey(null).build()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> minimal().nodeKey(null).build()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> minimal().givenName("").build()).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void registerMethodsRoundTripTheirStoredWords() {
        for (RegisterMethod m : RegisterMethod.values()) assertThat(RegisterMethod.ofStored(m.stored())).isEqualTo(m);
        assertThat(RegisterMethod.AUTH_KEY.stored()).isEqualTo("authkey");
        assertThat(RegisterMethod.CLI.stored()).isEqualTo("cli");
        assertThat(RegisterMethod.ofStored("carrier-pigeon")).isEqualTo(RegisterMethod.UNSPECIFIED);
    }
}
