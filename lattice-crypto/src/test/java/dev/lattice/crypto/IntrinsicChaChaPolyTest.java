package dev.lattice.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * ChaCha20-Poly1305 on the JDK's own kernels: the same bytes as the JDK's cipher for random keys, counters, lengths
 * and offsets (run long enough that the kernels go from interpreted Java to C2's intrinsics), forged messages
 * refused with the buffer untouched, bounds checked before the unchecked kernels run, and without the opens it says
 * it is unavailable instead of failing.
 */
class IntrinsicChaChaPolyTest {
    private final IntrinsicChaChaPoly aead = new IntrinsicChaChaPoly();

    /** The surefire argLine opens what lattice.jar's manifest opens: if either loses them, the data path falls back. */
    @Test
    void isAvailableWithTheOpensTheLaunchersGive() {
        assertThat(IntrinsicChaChaPoly.unavailableReason()).isNull();
        assertThat(IntrinsicChaChaPoly.available()).isTrue();
    }

    @Test
    void matchesTheJdkCipher() throws Exception {
        SplittableRandom rnd = new SplittableRandom(8439);
        Cipher jdk = Cipher.getInstance("ChaCha20-Poly1305");
        // Many trials: the first ones run the JDK kernels' Java fallbacks, later ones C2's intrinsics (up to 16 blocks
        // a call), so both ways of making the keystream and the MAC are compared.
        for (int trial = 0; trial < 40_000; trial++) {
            int len = trial <= 1100 ? trial : trial % 50 == 0 ? rnd.nextInt(0, 66_000) : rnd.nextInt(0, 3000);
            byte[] key = bytes(rnd, 32);
            long counter = trial % 7 == 0 ? -1L - trial : rnd.nextLong();
            byte[] plain = bytes(rnd, len);
            int off = rnd.nextInt(0, 40);
            byte[] buf = new byte[off + len + 16 + rnd.nextInt(0, 8)];
            System.arraycopy(plain, 0, buf, off, len);
            int[] k = ChaChaPolyInPlace.key(key);
            assertThat(aead.seal(k, counter, buf, off, len)).isEqualTo(len + 16);

            byte[] nonce = ChaChaPoly.nonceLE(counter);
            jdk.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce));
            byte[] want = jdk.doFinal(plain);
            if (!Arrays.equals(buf, off, off + len + 16, want, 0, want.length)) {
                assertThat(Arrays.copyOfRange(buf, off, off + len + 16)).as("trial %d, %d bytes", trial, len).isEqualTo(want);
            }
            assertThat(aead.open(k, counter, buf, off, len + 16)).as("trial %d", trial).isEqualTo(len);
            if (!Arrays.equals(buf, off, off + len, plain, 0, len)) {
                assertThat(Arrays.copyOfRange(buf, off, off + len)).as("trial %d opened", trial).isEqualTo(plain);
            }
        }
    }

    /** RFC 8439 §2.8.2's key and message under a counter nonce: what ChaChaPolyInPlace (checked on the RFC) makes. */
    @Test
    void sameBytesAsChaChaPolyInPlace() {
        byte[] plain = Rfc8439Aead.plaintext();
        int[] k = ChaChaPolyInPlace.key(Rfc8439Aead.key());
        byte[] ours = Arrays.copyOf(plain, plain.length + 16);
        byte[] theirs = ours.clone();
        aead.seal(k, 0x4746454443424140L, ours, 0, plain.length);
        new ChaChaPolyInPlace().seal(k, 0x4746454443424140L, theirs, 0, plain.length);
        assertThat(ours).isEqualTo(theirs);
        assertThat(new String(Arrays.copyOf(ours, 8), StandardCharsets.ISO_8859_1))
                .isNotEqualTo(new String(Arrays.copyOf(plain, 8), StandardCharsets.ISO_8859_1));
    }

    /** A flipped bit anywhere (ciphertext, tag, counter, key) is refused, and the buffer is as it was. */
    @Test
    void tamperingIsRefusedAndLeavesTheBuffer() {
        SplittableRandom rnd = new SplittableRandom(99);
        for (int trial = 0; trial < 2000; trial++) {
            int len = trial % 10 == 0 ? rnd.nextInt(0, 3000) : rnd.nextInt(0, 200);
            byte[] key = bytes(rnd, 32);
            long counter = rnd.nextLong();
            byte[] buf = bytes(rnd, len + 16);
            int[] k = ChaChaPolyInPlace.key(key);
            aead.seal(k, counter, buf, 0, len);

            byte[] bad = buf.clone();
            int bit = rnd.nextInt(0, 8 * bad.length);
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            byte[] before = bad.clone();
            assertThat(aead.open(k, counter, bad, 0, bad.length)).isEqualTo(-1);
            assertThat(bad).isEqualTo(before);

            assertThat(aead.open(k, counter ^ (1L << rnd.nextInt(0, 64)), buf.clone(), 0, buf.length)).isEqualTo(-1);
            byte[] badKey = key.clone();
            badKey[rnd.nextInt(0, 32)] ^= (byte) (1 << rnd.nextInt(0, 8));
            assertThat(aead.open(ChaChaPolyInPlace.key(badKey), counter, buf.clone(), 0, buf.length)).isEqualTo(-1);

            assertThat(aead.open(k, counter, buf, 0, buf.length)).isEqualTo(len);
        }
        assertThat(aead.open(new int[8], 0, new byte[15], 0, 15)).isEqualTo(-1);
    }

    /** The kernels read and write without bounds checks: every bad offset or length is refused before they run. */
    @Test
    void refusesBadKeysAndBounds() {
        int[] k = new int[8];
        assertThatThrownBy(() -> aead.seal(new int[7], 0, new byte[64], 0, 16)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> aead.seal(null, 0, new byte[64], 0, 16)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> aead.seal(k, 0, new byte[64], 0, 49)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> aead.seal(k, 0, new byte[64], -1, 16)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> aead.seal(k, 0, new byte[64], 0, -1)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> aead.open(k, 0, new byte[64], 10, 60)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> aead.open(k, 0, new byte[64], -1, 20)).isInstanceOf(IndexOutOfBoundsException.class);
        byte[] ok = new byte[64];
        assertThat(aead.seal(k, 0, ok, 0, 48)).isEqualTo(64);
        assertThat(aead.open(k, 0, ok, 0, 64)).isEqualTo(48);
    }

    /**
     * The final step on accumulators random tests never reach: values at and around p = 2^130 - 5 (where h - p must
     * be taken), at 2^130 - 1, zero, negative limbs (the JDK's Java fallback leaves signed limbs) and limbs above 2^26,
     * against BigInteger: (value mod p + s) mod 2^128, little-endian.
     */
    @Test
    void finalReductionIsExactForEveryLimbShape() {
        BigInteger p = BigInteger.ONE.shiftLeft(130).subtract(BigInteger.valueOf(5));
        SplittableRandom rnd = new SplittableRandom(1305);
        List<long[]> cases = new java.util.ArrayList<>();
        for (BigInteger v : List.of(BigInteger.ZERO, BigInteger.ONE, p.subtract(BigInteger.ONE), p, p.add(BigInteger.ONE),
                p.add(BigInteger.valueOf(4)), BigInteger.ONE.shiftLeft(130).subtract(BigInteger.ONE), BigInteger.ONE.shiftLeft(128))) {
            cases.add(limbsOf(v));
        }
        cases.add(new long[] {0x3ffffff + 5, 0x3ffffff, 0x3ffffff, 0x3ffffff, 0x3ffffff}); // a carry ripples through all
        cases.add(new long[] {-1, 0, 0, 0, 0});
        cases.add(new long[] {-5, 0, 0, 0, 0});
        cases.add(new long[] {0, 0, 0, 0, -1});
        cases.add(new long[] {-(1L << 25), -(1L << 25), -(1L << 25), -(1L << 25), -(1L << 25)});
        cases.add(new long[] {1L << 40, 1L << 40, 1L << 40, 1L << 40, 1L << 40});
        for (int i = 0; i < 20_000; i++) {
            long[] l = new long[5];
            int shape = i % 4;
            for (int j = 0; j < 5; j++) {
                l[j] = switch (shape) {
                    case 0 -> rnd.nextLong(0, 1L << 26);
                    case 1 -> rnd.nextLong(-(1L << 26), 1L << 27);
                    case 2 -> (1L << 26) - 1 - rnd.nextLong(0, 3);
                    default -> rnd.nextLong(-(1L << 40), 1L << 40);
                };
            }
            cases.add(l);
        }
        byte[] tag = new byte[16];
        for (long[] l : cases) {
            long sLo = rnd.nextLong(), sHi = rnd.nextLong();
            IntrinsicChaChaPoly.finish(l.clone(), sLo, sHi, tag);
            BigInteger v = BigInteger.ZERO;
            for (int j = 4; j >= 0; j--) v = v.shiftLeft(26).add(BigInteger.valueOf(l[j]));
            BigInteger s = new BigInteger(Long.toUnsignedString(sHi)).shiftLeft(64).add(new BigInteger(Long.toUnsignedString(sLo)));
            BigInteger want = v.mod(p).add(s).mod(BigInteger.ONE.shiftLeft(128));
            byte[] wantLe = new byte[16];
            byte[] be = want.toByteArray();
            for (int j = 0; j < 16 && j < be.length; j++) wantLe[j] = be[be.length - 1 - j];
            assertThat(tag).as("limbs %s", Arrays.toString(l)).isEqualTo(wantLe);
        }
    }

    private static long[] limbsOf(BigInteger v) {
        long[] l = new long[5];
        for (int j = 0; j < 5; j++) l[j] = v.shiftRight(26 * j).longValue() & 0x3ffffff;
        return l;
    }

    /** Without the opens (a JVM started some other way) the class says why it cannot run; it does not throw. */
    @Test
    void withoutTheOpensItIsUnavailableAndSaysWhy() throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        String cp = System.getProperty("java.class.path");
        Process p = new ProcessBuilder(List.of(java, "-cp", cp, Probe.class.getName()))
                .redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).startsWith("available=false reason=").contains("com.sun.crypto.provider");
    }

    /** Run in a JVM without the opens by the test above. */
    public static final class Probe {
        public static void main(String[] args) {
            System.out.println("available=" + IntrinsicChaChaPoly.available() + " reason=" + IntrinsicChaChaPoly.unavailableReason());
        }
    }

    private static byte[] bytes(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }
}
