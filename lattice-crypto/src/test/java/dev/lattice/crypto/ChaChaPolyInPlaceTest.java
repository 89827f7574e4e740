package dev.lattice.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.macs.Poly1305;
import org.bouncycastle.crypto.params.KeyParameter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The allocation-free ChaCha20-Poly1305: RFC 8439's vectors, and the same bytes as the JDK's cipher for random keys,
 * nonces, associated data and lengths; every tampered message is refused and leaves the buffer untouched.
 */
class ChaChaPolyInPlaceTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] KEY = Rfc8439Aead.key();
    private static final byte[] NONCE = Rfc8439Aead.nonce();
    private static final byte[] AAD = Rfc8439Aead.aad();
    private static final byte[] PLAINTEXT = Rfc8439Aead.plaintext();
    private static final byte[] SEALED = Rfc8439Aead.sealed();

    private final ChaChaPolyInPlace aead = new ChaChaPolyInPlace();

    @Test
    void rfc8439Section2_8_2() {
        byte[] buf = Arrays.copyOf(PLAINTEXT, PLAINTEXT.length + 16);
        int n = aead.seal(ChaChaPolyInPlace.key(KEY), NONCE, AAD, buf, 0, PLAINTEXT.length);
        assertThat(n).isEqualTo(SEALED.length);
        assertThat(buf).isEqualTo(SEALED);
        assertThat(aead.open(ChaChaPolyInPlace.key(KEY), NONCE, AAD, buf, 0, n)).isEqualTo(PLAINTEXT.length);
        assertThat(Arrays.copyOf(buf, PLAINTEXT.length)).isEqualTo(PLAINTEXT);
    }

    /** RFC 8439 Appendix A.5: decryption with associated data and a nonce whose first word is not zero. */
    @Test
    void rfc8439AppendixA5() {
        byte[] key = HEX.parseHex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
        byte[] nonce = HEX.parseHex("000000000102030405060708");
        byte[] aad = HEX.parseHex("f33388860000000000004e91");
        byte[] sealed = HEX.parseHex(
                "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
                + "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
                + "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
                + "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
                + "a6ad5cb4022b02709b" + "eead9d67890cbb22392336fea1851f38");
        int n = aead.open(ChaChaPolyInPlace.key(key), nonce, aad, sealed, 0, sealed.length);
        assertThat(n).isEqualTo(sealed.length - 16);
        assertThat(new String(sealed, 0, n, StandardCharsets.UTF_8))
                .startsWith("Internet-Drafts are draft documents valid for a maximum of six months")
                .endsWith("to cite them other than as /\u201cwork in progress./\u201d");
    }

    /** RFC 8439 Appendix A.3, the Poly1305 vectors on whole blocks (#5 to #11 exercise the final reduction). */
    @ParameterizedTest(name = "A.3 #{0}")
    @CsvSource({
        "1, 0000000000000000000000000000000000000000000000000000000000000000, "
                + "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000, "
                + "00000000000000000000000000000000",
        "5, 0200000000000000000000000000000000000000000000000000000000000000, ffffffffffffffffffffffffffffffff, "
                + "03000000000000000000000000000000",
        "6, 02000000000000000000000000000000ffffffffffffffffffffffffffffffff, 02000000000000000000000000000000, "
                + "03000000000000000000000000000000",
        "7, 0100000000000000000000000000000000000000000000000000000000000000, "
                + "fffffffffffffffffffffffffffffffff0ffffffffffffffffffffffffffffff11000000000000000000000000000000, "
                + "05000000000000000000000000000000",
        "8, 0100000000000000000000000000000000000000000000000000000000000000, "
                + "fffffffffffffffffffffffffffffffffbfefefefefefefefefefefefefefefe01010101010101010101010101010101, "
                + "00000000000000000000000000000000",
        "9, 0200000000000000000000000000000000000000000000000000000000000000, fdffffffffffffffffffffffffffffff, "
                + "faffffffffffffffffffffffffffffff",
        "10, 0100000000000000040000000000000000000000000000000000000000000000, "
                + "e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000000000000000000001000000000000000000000000000000, "
                + "14000000000000005500000000000000",
        "11, 0100000000000000040000000000000000000000000000000000000000000000, "
                + "e33594d7505e43b900000000000000003394d7505e4379cd010000000000000000000000000000000000000000000000, "
                + "13000000000000000000000000000000",
    })
    void rfc8439Poly1305Vectors(int number, String key, String msg, String tag) {
        assertThat(HEX.formatHex(aead.poly1305(HEX.parseHex(key), HEX.parseHex(msg)))).as("vector %d", number).isEqualTo(tag);
    }

    /** Poly1305 against BouncyCastle's on random keys and on messages made of extreme limbs (all ones, all zero). */
    @Test
    void poly1305MatchesBouncyCastle() {
        SplittableRandom rnd = new SplittableRandom(1305);
        for (int trial = 0; trial < 2000; trial++) {
            byte[] key = bytes(rnd, 32);
            if (trial % 4 == 1) Arrays.fill(key, 0, 16, (byte) 0xff); // the largest r clamping allows
            byte[] msg = new byte[16 * rnd.nextInt(0, 12)];
            for (int i = 0; i < msg.length; i++) {
                msg[i] = switch (trial % 3) {
                    case 0 -> (byte) rnd.nextInt();
                    case 1 -> (byte) 0xff;
                    default -> (byte) (rnd.nextBoolean() ? 0xff : 0);
                };
            }
            Poly1305 bc = new Poly1305();
            bc.init(new KeyParameter(key));
            bc.update(msg, 0, msg.length);
            byte[] want = new byte[16];
            bc.doFinal(want, 0);
            assertThat(aead.poly1305(key, msg)).as("trial %d", trial).isEqualTo(want);
        }
    }

    /** Same ciphertext and tag as the JDK's cipher, and each opens the other's, for lengths 0..2000. */
    @Test
    void matchesTheJdkCipher() throws Exception {
        SplittableRandom rnd = new SplittableRandom(8439);
        Cipher jdk = Cipher.getInstance("ChaCha20-Poly1305");
        for (int trial = 0; trial < 3000; trial++) {
            int len = trial <= 300 ? trial : rnd.nextInt(0, 2001);
            byte[] key = bytes(rnd, 32);
            byte[] nonce = bytes(rnd, 12);
            byte[] aad = switch (trial % 3) {
                case 0 -> null;
                case 1 -> bytes(rnd, rnd.nextInt(0, 70));
                default -> bytes(rnd, 32); // a Noise handshake hash
            };
            byte[] plain = bytes(rnd, len);
            int off = rnd.nextInt(0, 40);
            byte[] buf = new byte[off + len + 16 + rnd.nextInt(0, 8)];
            System.arraycopy(plain, 0, buf, off, len);
            int[] k = ChaChaPolyInPlace.key(key);
            assertThat(aead.seal(k, nonce, aad, buf, off, len)).isEqualTo(len + 16);

            jdk.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce));
            if (aad != null) jdk.updateAAD(aad);
            byte[] want = jdk.doFinal(plain);
            assertThat(Arrays.copyOfRange(buf, off, off + len + 16)).as("trial %d, %d bytes", trial, len).isEqualTo(want);

            jdk.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce));
            if (aad != null) jdk.updateAAD(aad);
            assertThat(jdk.doFinal(buf, off, len + 16)).isEqualTo(plain);

            assertThat(aead.open(k, nonce, aad, buf, off, len + 16)).isEqualTo(len);
            assertThat(Arrays.copyOfRange(buf, off, off + len)).isEqualTo(plain);
        }
    }

    /** A flipped bit anywhere (ciphertext, tag, nonce, key, associated data) is refused and the buffer kept. */
    @Test
    void tamperingIsRefusedAndLeavesTheBuffer() {
        SplittableRandom rnd = new SplittableRandom(99);
        for (int trial = 0; trial < 300; trial++) {
            int len = rnd.nextInt(0, 200);
            byte[] key = bytes(rnd, 32);
            byte[] nonce = bytes(rnd, 12);
            byte[] aad = bytes(rnd, rnd.nextInt(0, 20));
            byte[] buf = bytes(rnd, len + 16);
            int[] k = ChaChaPolyInPlace.key(key);
            aead.seal(k, nonce, aad, buf, 0, len);

            byte[] bad = buf.clone();
            int bit = rnd.nextInt(0, 8 * bad.length);
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            byte[] before = bad.clone();
            assertThat(aead.open(k, nonce, aad, bad, 0, bad.length)).isEqualTo(-1);
            assertThat(bad).isEqualTo(before);

            byte[] badNonce = nonce.clone();
            badNonce[rnd.nextInt(0, 12)] ^= (byte) (1 << rnd.nextInt(0, 8));
            assertThat(aead.open(k, badNonce, aad, buf.clone(), 0, buf.length)).isEqualTo(-1);
            byte[] badKey = key.clone();
            badKey[rnd.nextInt(0, 32)] ^= (byte) (1 << rnd.nextInt(0, 8));
            assertThat(aead.open(ChaChaPolyInPlace.key(badKey), nonce, aad, buf.clone(), 0, buf.length)).isEqualTo(-1);
            byte[] badAad = Arrays.copyOf(aad, aad.length + 1);
            assertThat(aead.open(k, nonce, badAad, buf.clone(), 0, buf.length)).isEqualTo(-1);

            assertThat(aead.open(k, nonce, aad, buf, 0, buf.length)).isEqualTo(len);
        }
        assertThat(aead.open(ChaChaPolyInPlace.key(KEY), NONCE, null, new byte[15], 0, 15)).isEqualTo(-1);
    }

    /** WireGuard's counter form is the 12-byte nonce 0^32 || counter (little-endian), as ChaChaPoly.nonceLE. */
    @Test
    void counterNonceIsWireGuards() throws AeadException {
        SplittableRandom rnd = new SplittableRandom(7);
        for (long counter : new long[] {0, 1, 0x0102030405060708L, -2L, rnd.nextLong()}) {
            byte[] key = bytes(rnd, 32);
            byte[] plain = bytes(rnd, 100);
            byte[] buf = Arrays.copyOf(plain, 116);
            int n = aead.seal(ChaChaPolyInPlace.key(key), counter, buf, 0, 100);
            assertThat(buf).isEqualTo(ChaChaPoly.seal(key, ChaChaPoly.nonceLE(counter), null, plain));
            assertThat(aead.open(ChaChaPolyInPlace.key(key), counter, buf, 0, n)).isEqualTo(100);
            assertThat(Arrays.copyOf(buf, 100)).isEqualTo(plain);
        }
    }

    @Test
    void refusesBadKeysNoncesAndBounds() {
        int[] k = ChaChaPolyInPlace.key(KEY);
        assertThatThrownBy(() -> ChaChaPolyInPlace.key(new byte[31])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> aead.seal(new int[7], 0, new byte[32], 0, 16)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> aead.seal(k, new byte[8], null, new byte[32], 0, 16)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> aead.seal(k, 0, new byte[31], 0, 16)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> aead.open(k, 0, new byte[31], 0, 32)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    private static byte[] bytes(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }
}
