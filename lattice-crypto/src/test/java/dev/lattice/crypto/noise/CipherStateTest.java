package dev.lattice.crypto.noise;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.AeadException;
import dev.lattice.crypto.ChaChaPoly;
import org.junit.jupiter.api.Test;

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
