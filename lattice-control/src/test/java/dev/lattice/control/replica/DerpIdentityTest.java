package dev.lattice.control.replica;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.NodePrivateKey;
import java.net.URI;
import org.junit.jupiter.api.Test;

/** The replicas' DERP keys come from the one key they share: stable per URL, distinct across URLs, one mesh key. */
class DerpIdentityTest {
    final NodePrivateKey shared = NodePrivateKey.generate();
    final URI a = URI.create("https://a.example.com:8443");
    final URI b = URI.create("https://b.example.com:8443");

    @Test
    void eachUrlGetsAStableKeyOfItsOwn() {
        NodePrivateKey ka = DerpIdentity.serverKey(shared, a);
        assertThat(DerpIdentity.serverKey(shared, URI.create("https://a.example.com:8443"))).isEqualTo(ka);
        assertThat(DerpIdentity.serverKey(shared, b)).isNotEqualTo(ka);
        assertThat(DerpIdentity.serverKey(NodePrivateKey.generate(), a)).as("another database, another key").isNotEqualTo(ka);
        assertThat(ka).isNotEqualTo(shared);
        byte[] raw = ka.raw();
        assertThat(raw[0] & 7).as("clamped").isZero();
        assertThat(raw[31] & 0xc0).isEqualTo(0x40);
    }

    @Test
    void theMeshKeyIsOnePerDatabaseAndRevealsNoServerKey() {
        assertThat(DerpIdentity.meshKey(shared)).isEqualTo(DerpIdentity.meshKey(shared));
        assertThat(DerpIdentity.meshKey(NodePrivateKey.generate())).isNotEqualTo(DerpIdentity.meshKey(shared));
        assertThat(DerpIdentity.meshKey(shared).toHex()).isNotEqualTo(java.util.HexFormat.of().formatHex(shared.raw()))
                .isNotEqualTo(java.util.HexFormat.of().formatHex(DerpIdentity.serverKey(shared, a).raw()));
    }

    @Test
    void nodeNamesFollowTailscalesLetters() {
        assertThat(DerpMesh.suffix(0)).isEqualTo("a");
        assertThat(DerpMesh.suffix(25)).isEqualTo("z");
        assertThat(DerpMesh.suffix(26)).isEqualTo("aa");
        assertThat(DerpMesh.suffix(27)).isEqualTo("ab");
    }
}
