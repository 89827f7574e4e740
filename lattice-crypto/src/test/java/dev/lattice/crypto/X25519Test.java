package dev.lattice.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** X25519 against RFC 7748 §5.2 and §6.1, plus WireGuard's rejection of low-order points. */
class X25519Test {
    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }

    @Test
    void rfc7748Section5_2Vector1() throws CryptoException {
        byte[] scalar = hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
        byte[] u = hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
        assertThat(X25519.sharedSecret(scalar, u))
                .isEqualTo(hex("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"));
    }

    @Test
    void rfc7748Section5_2Vector2MasksTheHighBitOfU() throws CryptoException {
        // This u has its top bit set; implementations must ignore it.
        byte[] scalar = hex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
        byte[] u = hex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
        assertThat(X25519.sharedSecret(scalar, u))
                .isEqualTo(hex("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"));
    }

    @Test
    void rfc7748Section5_2Iterated() throws CryptoException {
        byte[] k = hex("0900000000000000000000000000000000000000000000000000000000000000");
        byte[] u = k.clone();
        for (int i = 1; i <= 1000; i++) {
            byte[] next = X25519.sharedSecret(k, u);
            u = k;
            k = next;
            if (i == 1) {
                assertThat(k).isEqualTo(hex("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"));
            }
        }
        assertThat(k).isEqualTo(hex("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"));
    }

    @Test
    void rfc7748Section6_1DiffieHellman() throws CryptoException {
        byte[] alicePriv = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        byte[] bobPriv = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        byte[] alicePub = X25519.publicKey(alicePriv);
        byte[] bobPub = X25519.publicKey(bobPriv);
        assertThat(alicePub).isEqualTo(hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
        assertThat(bobPub).isEqualTo(hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
        byte[] k = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assertThat(X25519.sharedSecret(alicePriv, bobPub)).isEqualTo(k);
        assertThat(X25519.sharedSecret(bobPriv, alicePub)).isEqualTo(k);
    }

    @Test
    void lowOrderPointsAreRejectedAsWireGuardRequires() {
        byte[] priv = X25519.newPrivateKey();
        String[] lowOrder = {
            "0000000000000000000000000000000000000000000000000000000000000000", // u = 0
            "0100000000000000000000000000000000000000000000000000000000000000", // u = 1
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8 (libsodium's small_order_p)
        };
        for (String p : lowOrder) {
            assertThatThrownBy(() -> X25519.sharedSecret(priv, hex(p)))
                    .isInstanceOf(CryptoException.class)
                    .hasMessageContaining("low-order");
        }
    }

    @Test
    void newPrivateKeyIsRandomAndClamped() {
        byte[] a = X25519.newPrivateKey();
        byte[] b = X25519.newPrivateKey();
        assertThat(a).hasSize(32).isNotEqualTo(b);
        assertThat(a[0] & 7).isZero();
        assertThat(a[31] & 0x80).isZero();
        assertThat(a[31] & 0x40).isEqualTo(0x40);
    }

    @Test
    void keysMustBe32Bytes() {
        assertThatThrownBy(() -> X25519.publicKey(new byte[31])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> X25519.sharedSecret(new byte[32], new byte[33])).isInstanceOf(IllegalArgumentException.class);
    }
}
