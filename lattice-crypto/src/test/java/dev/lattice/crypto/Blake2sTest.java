package dev.lattice.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** BLAKE2s against the reference KATs (BLAKE2/BLAKE2 testvectors/blake2-kat.json), and HMAC-BLAKE2s per RFC 2104. */
class Blake2sTest {
    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }

    /** 0x00, 0x01, ..., n-1: the reference KATs' input and key pattern. */
    private static byte[] seq(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) i;
        return b;
    }

    @Test
    void unkeyedReferenceVectors() {
        assertThat(Blake2s.hash(new byte[0]))
                .isEqualTo(hex("69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9"));
        assertThat(Blake2s.hash(seq(1)))
                .isEqualTo(hex("e34d74dbaf4ff4c6abd871cc220451d2ea2648846c7757fbaac82fe51ad64bea"));
        assertThat(Blake2s.hash(seq(64)))
                .isEqualTo(hex("56f34e8b96557e90c1f24b52d0c89d51086acf1b00f634cf1dde9233b8eaaa3e"));
    }

    @Test
    void keyedReferenceVectors() {
        byte[] key = seq(32);
        assertThat(Blake2s.mac(key, 32, new byte[0]))
                .isEqualTo(hex("48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49"));
        assertThat(Blake2s.mac(key, 32, seq(1)))
                .isEqualTo(hex("40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1"));
        assertThat(Blake2s.mac(key, 32, seq(64)))
                .isEqualTo(hex("8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4"));
        assertThat(Blake2s.mac(key, 32, seq(255)))
                .isEqualTo(hex("3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd"));
    }

    @Test
    void partsAreHashedAsTheirConcatenation() {
        byte[] all = seq(100);
        byte[] a = Arrays.copyOfRange(all, 0, 7);
        byte[] b = Arrays.copyOfRange(all, 7, 70);
        byte[] c = Arrays.copyOfRange(all, 70, 100);
        assertThat(Blake2s.hash(a, new byte[0], b, c)).isEqualTo(Blake2s.hash(all));
        assertThat(Blake2s.mac(seq(32), 16, a, b, c)).isEqualTo(Blake2s.mac(seq(32), 16, all));
        assertThat(Blake2s.hmac(seq(32), a, b, c)).isEqualTo(Blake2s.hmac(seq(32), all));
    }

    @Test
    void macOutputLengthIsABlake2ParameterNotATruncation() {
        // WireGuard's mac1/mac2 are BLAKE2s with a 16-byte digest, which differs from cutting a 32-byte one.
        byte[] mac16 = Blake2s.mac(seq(32), 16, seq(10));
        assertThat(mac16).hasSize(16).isNotEqualTo(Arrays.copyOf(Blake2s.mac(seq(32), 32, seq(10)), 16));
    }

    @Test
    void wireGuardConstructionAndIdentifierHashes() {
        // Ci = HASH(construction), Hi = HASH(Ci || identifier), as every WireGuard implementation precomputes them.
        byte[] ci = Blake2s.hash("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".getBytes(StandardCharsets.US_ASCII));
        byte[] hi = Blake2s.hash(ci, "WireGuard v1 zx2c4 Jason@zx2c4.com".getBytes(StandardCharsets.US_ASCII));
        assertThat(ci).isEqualTo(hex("60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36"));
        assertThat(hi).isEqualTo(hex("2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3"));
    }

    /** RFC 2104 spelled out: H((K' ^ opad) || H((K' ^ ipad) || m)), K' = key (hashed if longer than a block) padded to 64. */
    private static byte[] rfc2104(byte[] key, byte[] message) {
        byte[] k = key.length > Blake2s.BLOCK_LEN ? Blake2s.hash(key) : key;
        byte[] ipad = new byte[Blake2s.BLOCK_LEN];
        byte[] opad = new byte[Blake2s.BLOCK_LEN];
        for (int i = 0; i < Blake2s.BLOCK_LEN; i++) {
            byte ki = i < k.length ? k[i] : 0;
            ipad[i] = (byte) (ki ^ 0x36);
            opad[i] = (byte) (ki ^ 0x5c);
        }
        return Blake2s.hash(opad, Blake2s.hash(ipad, message));
    }

    @Test
    void hmacIsRfc2104WithA64ByteBlock() {
        byte[] msg = "what do ya want for nothing?".getBytes(StandardCharsets.US_ASCII);
        for (int keyLen : new int[] {0, 8, 32, 64, 65, 100}) {
            byte[] key = seq(keyLen);
            assertThat(Blake2s.hmac(key, msg)).as("key length %d", keyLen).isEqualTo(rfc2104(key, msg));
        }
    }

    @Test
    void rejectsBadParameters() {
        assertThatThrownBy(() -> Blake2s.mac(new byte[33], 16, new byte[0])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Blake2s.mac(new byte[32], 0, new byte[0])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Blake2s.mac(new byte[32], 33, new byte[0])).isInstanceOf(IllegalArgumentException.class);
    }
}
