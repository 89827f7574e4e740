package dev.lattice.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.ChaChaPoly;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The transport cipher against an independent implementation (BouncyCastle), with WireGuard's nonce layout; above
 * the size switch both with the JDK's kernels ({@code intrinsic}, what the launchers run) and with the JDK's cipher
 * (the fallback without lattice.jar's opens).
 */
class TransportCipherTest {
    private static final int OFF = Device.HEADROOM;

    @ParameterizedTest(name = "intrinsic={0}")
    @ValueSource(booleans = {true, false})
    void sealsAsBouncyCastleDoesWithTheCounterLittleEndianInTheNonce(boolean intrinsic) throws Exception {
        Random rnd = new Random(8439);
        TransportCipher c = new TransportCipher(intrinsic);
        for (int round = 0; round < 300; round++) {
            byte[] key = new byte[32];
            rnd.nextBytes(key);
            long ctr = round < 3 ? new long[] {0, 1, -(1L << 13) - 2}[round] : rnd.nextLong() >>> 4;
            // 0: a keepalive; both sides of the size at which the implementation changes
            int len = round % 10 == 0 ? 0 : round % 10 == 1 ? c.smallMax() + rnd.nextInt(-2, 3) : rnd.nextInt(1500);
            byte[] plain = new byte[len];
            rnd.nextBytes(plain);
            byte[] buf = new byte[OFF + len + 16];
            System.arraycopy(plain, 0, buf, OFF, len);

            int ct = c.seal(new TransportKey(key), ctr, buf, OFF, len);

            assertThat(ct).isEqualTo(len + 16);
            byte[] expected = ChaChaPoly.seal(key, ChaChaPoly.nonceLE(ctr), null, plain);
            assertThat(Arrays.copyOfRange(buf, OFF, OFF + ct)).as("round %d", round).isEqualTo(expected);
            assertThat(c.open(new TransportKey(key), ctr, buf, OFF, ct)).isEqualTo(len);
            assertThat(Arrays.copyOfRange(buf, OFF, OFF + len)).isEqualTo(plain);
        }
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {100, 1000})
    void aFlippedBitAWrongCounterOrAWrongKeyFailsToOpen(int len) {
        byte[] key = new byte[32];
        Arrays.fill(key, (byte) 7);
        TransportKey k = new TransportKey(key);
        TransportCipher c = TransportCipher.get();
        byte[] sealed = new byte[OFF + len + 16];
        int ct = c.seal(k, 42, sealed, OFF, len);

        for (int bit : new int[] {0, 8 * (len / 2) + 3, 8 * (ct - 1)}) { // first byte, middle, last tag byte
            byte[] b = sealed.clone();
            b[OFF + bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(c.open(k, 42, b, OFF, ct)).as("bit %d", bit).isEqualTo(-1);
        }
        assertThat(c.open(k, 43, sealed.clone(), OFF, ct)).isEqualTo(-1);
        byte[] other = key.clone();
        other[31] ^= 1;
        assertThat(c.open(new TransportKey(other), 42, sealed.clone(), OFF, ct)).isEqualTo(-1);
        assertThat(c.open(k, 42, sealed.clone(), OFF, ct)).isEqualTo(len);
    }

    @ParameterizedTest(name = "intrinsic={0}")
    @ValueSource(booleans = {true, false})
    void aTamperedPacketFailsOnEitherSideOfTheSizeSwitch(boolean intrinsic) {
        TransportKey k = new TransportKey(new byte[32]);
        TransportCipher c = new TransportCipher(intrinsic);
        for (int len : new int[] {0, 64, c.smallMax() - 1, c.smallMax(), c.smallMax() + 1, 300, 1424}) {
            byte[] sealed = new byte[OFF + len + 16];
            int ct = c.seal(k, len, sealed, OFF, len); // a counter of its own: the JDK refuses a repeated nonce
            byte[] b = sealed.clone();
            b[OFF + ct - 1] ^= 1;
            assertThat(c.open(k, len, b, OFF, ct)).as("%d bytes", len).isEqualTo(-1);
            assertThat(c.open(k, len, sealed, OFF, ct)).as("%d bytes", len).isEqualTo(len);
        }
    }

    /** The tests' JVM has lattice.jar's opens: the data path runs on the JDK's kernels, not its cipher. */
    @Test
    void fullSizePacketsUseTheJdksKernels() {
        assertThat(TransportCipher.largePackets()).startsWith("the JDK's ChaCha20/Poly1305 kernels");
    }

    @Test
    void warmUpRoundTrips() {
        TransportCipher.warmUp(50); // it checks every round trip and throws if one fails
    }
}
