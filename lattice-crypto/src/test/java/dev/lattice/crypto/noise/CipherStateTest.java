package dev.lattice.crypto.noise;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.AeadException;
import dev.lattice.crypto.ChaChaPoly;
import dev.lattice.crypto.IntrinsicChaChaPoly;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** CipherState per Noise §5.1: counter nonces, no increment on failure, 2^64-1 reserved. */
class CipherStateTest {
    private static final byte[] KEY = new byte[32];

    static {
        for (int i = 0; i < 32; i++) KEY[i] = (byte) (0x80 + i);
    }

    @Test
    void encryptsWithTheCounterAsNonceAndIncrementsIt() throws AeadException {
        CipherState send = new CipherState(KEY, NonceEncoding.LITTLE_ENDIAN);
        CipherState recv = new CipherState(KEY, NonceEncoding.LITTLE_ENDIAN);
        byte[] ad = {1, 2, 3};
        for (long n = 0; n < 3; n++) {
            assertThat(send.nonce()).isEqualTo(n);
            byte[] ct = send.encryptWithAd(ad, new byte[] {(byte) n});
            assertThat(ct).isEqualTo(ChaChaPoly.seal(KEY, ChaChaPoly.nonceLE(n), ad, new byte[] {(byte) n}));
            assertThat(recv.decryptWithAd(ad, ct)).containsExactly((byte) n);
        }
        assertThat(recv.nonce()).isEqualTo(3);
    }

    @Test
    void bigEndianUsesTs2021Nonces() {
        CipherState send = new CipherState(KEY, NonceEncoding.BIG_ENDIAN);
        send.setNonce(0x0102030405060708L);
        assertThat(send.encryptWithAd(null, new byte[0]))
                .isEqualTo(ChaChaPoly.seal(KEY, ChaChaPoly.nonceBE(0x0102030405060708L), null, new byte[0]));
    }

    /**
     * Transport messages (no associated data, ts2021's records up to 4 KiB) through the JDK's kernels: the bytes the
     * JDK's cipher makes with the nonce in either byte order, into another buffer or over the same one, and a forged
     * record writes nothing and keeps the nonce.
     */
    @ParameterizedTest
    @EnumSource(NonceEncoding.class)
    void transportMessagesAreTheJdkCiphersBytes(NonceEncoding encoding) throws AeadException {
        assertThat(IntrinsicChaChaPoly.available()).as(IntrinsicChaChaPoly.unavailableReason()).isTrue();
        SplittableRandom rnd = new SplittableRandom(2021);
        CipherState send = new CipherState(KEY, encoding);
        CipherState recv = new CipherState(KEY, encoding);
        send.setNonce(0x00ff_fffe_0000_0000L);
        recv.setNonce(0x00ff_fffe_0000_0000L);
        for (int i = 0; i < 3000; i++) {
            long n = send.nonce();
            byte[] plain = new byte[i % 100 == 0 ? 4077 : rnd.nextInt(0, 1500)];
            rnd.nextBytes(plain);
            byte[] want = ChaChaPoly.seal(KEY, encoding.nonce(n), null, plain);
            byte[] got;
            if (i % 3 == 0) {
                got = send.encryptWithAd(null, plain);
            } else {
                byte[] out = new byte[5 + plain.length + 16];
                System.arraycopy(plain, 0, out, i % 3 == 1 ? 5 : 0, plain.length); // in place, or overlapping
                assertThat(send.encryptInto(out, i % 3 == 1 ? 5 : 0, plain.length, out, 5)).isEqualTo(plain.length + 16);
                got = Arrays.copyOfRange(out, 5, out.length);
            }
            assertThat(got).as("message %d, %d bytes", i, plain.length).isEqualTo(want);

            byte[] forged = got.clone();
            forged[rnd.nextInt(0, forged.length)] ^= (byte) (1 << rnd.nextInt(0, 8));
            byte[] out = new byte[plain.length + 3];
            assertThatThrownBy(() -> recv.decryptInto(forged, 0, forged.length, out, 3)).isInstanceOf(AeadException.class);
            assertThat(out).as("nothing written for a forged record").containsOnly(0);
            assertThat(recv.nonce()).isEqualTo(n);
            if (i % 2 == 0) {
                assertThat(recv.decryptInto(got, 0, got.length, out, 3)).isEqualTo(plain.length);
                assertThat(Arrays.copyOfRange(out, 3, out.length)).isEqualTo(plain);
            } else {
                assertThat(recv.decryptWithAd(null, got)).isEqualTo(plain);
            }
        }
    }

    @Test
    void failedDecryptionLeavesTheNonceAlone() throws AeadException {
        CipherState send = new CipherState(KEY, NonceEncoding.LITTLE_ENDIAN);
        CipherState recv = new CipherState(KEY, NonceEncoding.LITTLE_ENDIAN);
        byte[] ct = send.encryptWithAd(null, new byte[] {7});
        byte[] bad = ct.clone();
        bad[0] ^= 1;
        assertThatThrownBy(() -> recv.decryptWithAd(null, bad)).isInstanceOf(AeadException.class);
        assertThat(recv.nonce()).isZero();
        assertThat(recv.decryptWithAd(null, ct)).containsExactly(7);
    }

    @Test
    void nonceTwoToTheSixtyFourMinusOneIsNeverUsed() throws AeadException {
        CipherState send = new CipherState(KEY, NonceEncoding.LITTLE_ENDIAN);
        CipherState recv = new CipherState(KEY, NonceEncoding.LITTLE_ENDIAN);
        send.setNonce(-2L); // 2^64-2, the last usable one
        recv.setNonce(-2L);
        byte[] ct = send.encryptWithAd(null, new byte[0]);
        assertThat(recv.decryptWithAd(null, ct)).isEmpty();
        assertThat(Long.toUnsignedString(send.nonce())).isEqualTo("18446744073709551615");
        assertThatThrownBy(() -> send.encryptWithAd(null, new byte[0])).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> recv.decryptWithAd(null, ct)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void keyIsCopiedAndNeverPrinted() {
        byte[] k = KEY.clone();
        CipherState cs = new CipherState(k, NonceEncoding.LITTLE_ENDIAN);
        k[0] ^= 1;
        cs.key()[1] ^= 1;
        assertThat(cs.key()).isEqualTo(KEY);
        assertThat(cs.toString()).doesNotContain("8081").contains("redacted");
        assertThatThrownBy(() -> new CipherState(new byte[31], NonceEncoding.LITTLE_ENDIAN)).isInstanceOf(IllegalArgumentException.class);
    }
}
