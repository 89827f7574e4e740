package dev.lattice.wireguard.device;

import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * ChaCha20-Poly1305 for transport data, in place on the packet buffer. Uses the JDK cipher, which has
 * vectorised intrinsics for ChaCha20 and Poly1305. Cipher objects are not thread-safe, so each thread keeps
 * its own pair.
 */
final class TransportCipher {
    private static final ThreadLocal<TransportCipher> PER_THREAD = ThreadLocal.withInitial(TransportCipher::new);

    private final Cipher enc;
    private final Cipher dec;
    private final byte[] nonce = new byte[12];

    private TransportCipher() {
        try {
            enc = Cipher.getInstance("ChaCha20-Poly1305");
            dec = Cipher.getInstance("ChaCha20-Poly1305");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 unavailable in this JDK", e);
        }
    }

    static TransportCipher get() {
        return PER_THREAD.get();
    }

    /**
     * Runs the cipher on throwaway data until the JIT has compiled it (and its ChaCha20 and Poly1305
     * intrinsics are in use), so the first seconds of a transfer do not run the cipher interpreted: a fresh JVM
     * needs some thousands of calls for that. See {@link WarmUp}.
     */
    static void warmUp(int rounds) {
        SecretKeySpec key = new SecretKeySpec(new byte[32], "ChaCha20");
        byte[] buf = new byte[2048];
        TransportCipher c = get();
        for (int i = 0; i < rounds; i++) {
            int len = (i & 7) == 0 ? 64 : 1424; // short (ACK) and full-size packets
            int ct = c.seal(key, i, buf, 16, len);
            if (c.open(key, i, buf, 16, ct) != len) throw new IllegalStateException("cipher warm-up: round trip failed");
        }
    }

    private IvParameterSpec nonce(long counter) {
        for (int i = 0; i < 8; i++) nonce[4 + i] = (byte) (counter >>> (8 * i));
        return new IvParameterSpec(nonce);
    }

    /** Encrypts {@code b[off..off+len)} in place and appends the 16-byte tag; returns len + 16. */
    int seal(SecretKeySpec key, long counter, byte[] b, int off, int len) {
        try {
            enc.init(Cipher.ENCRYPT_MODE, key, nonce(counter));
            return enc.doFinal(b, off, len, b, off);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("transport encryption failed", e);
        }
    }

    /** Decrypts ciphertext+tag in place; returns the plaintext length, or -1 if authentication fails. */
    int open(SecretKeySpec key, long counter, byte[] b, int off, int len) {
        try {
            dec.init(Cipher.DECRYPT_MODE, key, nonce(counter));
            return dec.doFinal(b, off, len, b, off);
        } catch (GeneralSecurityException e) { // AEADBadTagException: forged or corrupted
            return -1;
        }
    }
}
