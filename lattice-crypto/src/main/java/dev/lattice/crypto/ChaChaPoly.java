package dev.lattice.crypto;

import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.util.Objects;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * ChaCha20-Poly1305 (RFC 8439): 32-byte key, 12-byte nonce, 16-byte tag appended to the ciphertext. Thread-safe.
 *
 * <p>The JDK's cipher (SunJCE), whose ChaCha20 and Poly1305 have vectorised intrinsics: a control server seals every
 * byte of every netmap it sends, and BouncyCastle's pure-Java cipher was a third of a restart storm's CPU. One cipher
 * per thread, initialised per message.
 */
public final class ChaChaPoly {
    public static final int KEY_LEN = 32;
    public static final int NONCE_LEN = 12;
    public static final int TAG_LEN = 16;
    private static final String JCE_NAME = "ChaCha20-Poly1305";

    private static final ThreadLocal<Cipher> SEAL = ThreadLocal.withInitial(ChaChaPoly::newCipher);
    private static final ThreadLocal<Cipher> OPEN = ThreadLocal.withInitial(ChaChaPoly::newCipher);

    private ChaChaPoly() {}

    /** Returns ciphertext || tag. {@code aad} may be null or empty. */
    public static byte[] seal(byte[] key, byte[] nonce12, byte[] aad, byte[] plaintext) {
        Objects.requireNonNull(plaintext, "plaintext");
        check(key, nonce12);
        Cipher c = SEAL.get();
        try {
            try {
                c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce12));
            } catch (InvalidKeyException sameKeyAndNonce) {
                // The JDK refuses to encrypt twice with the key and nonce of this cipher's last message (a guard
                // against nonce reuse; the callers' counters never repeat, a test's fixed vector may): a fresh one.
                c = newCipher();
                c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce12));
            }
            if (aad != null && aad.length > 0) c.updateAAD(aad);
            return c.doFinal(plaintext);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 encryption cannot fail", e);
        }
    }

    /**
     * Seals {@code len} bytes of {@code in} at {@code off} (no associated data) into {@code out} at {@code outOff}:
     * ciphertext then tag, {@code len + TAG_LEN} bytes, which it returns. Nothing is allocated for the bytes: a control
     * server seals every netmap it sends record by record, and a copy per record (in and out) was a good part of it.
     */
    public static int sealInto(byte[] key, byte[] nonce12, byte[] in, int off, int len, byte[] out, int outOff) {
        check(key, nonce12);
        Objects.checkFromIndexSize(off, len, in.length);
        Objects.checkFromIndexSize(outOff, len + TAG_LEN, out.length);
        Cipher c = SEAL.get();
        try {
            try {
                c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce12));
            } catch (InvalidKeyException sameKeyAndNonce) {
                c = newCipher(); // as in seal
                c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce12));
            }
            return c.doFinal(in, off, len, out, outOff);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 encryption cannot fail", e);
        }
    }

    /**
     * Opens {@code len} bytes of ciphertext and tag at {@code in[off]} (no associated data) into {@code out} at
     * {@code outOff}, which needs room for {@code len - TAG_LEN} bytes; returns that length. Nothing is written to
     * {@code out} unless the tag is right.
     */
    public static int openInto(byte[] key, byte[] nonce12, byte[] in, int off, int len, byte[] out, int outOff)
            throws AeadException {
        check(key, nonce12);
        if (len < TAG_LEN) throw new AeadException("ChaCha20-Poly1305 authentication failed: input shorter than the tag");
        Objects.checkFromIndexSize(off, len, in.length);
        Objects.checkFromIndexSize(outOff, len - TAG_LEN, out.length);
        Cipher c = OPEN.get();
        try {
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce12));
            return c.doFinal(in, off, len, out, outOff);
        } catch (AEADBadTagException e) {
            throw new AeadException("ChaCha20-Poly1305 authentication failed");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 decryption failed to start", e);
        }
    }

    /** Verifies the tag and returns the plaintext; throws if anything (key, nonce, aad, bytes) differs. */
    public static byte[] open(byte[] key, byte[] nonce12, byte[] aad, byte[] ciphertextAndTag) throws AeadException {
        Objects.requireNonNull(ciphertextAndTag, "ciphertextAndTag");
        check(key, nonce12);
        if (ciphertextAndTag.length < TAG_LEN) {
            throw new AeadException("ChaCha20-Poly1305 authentication failed: input shorter than the tag");
        }
        Cipher c = OPEN.get();
        try {
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce12));
            if (aad != null && aad.length > 0) c.updateAAD(aad);
            // The JDK returns nothing until the tag has been checked over the whole input.
            return c.doFinal(ciphertextAndTag);
        } catch (AEADBadTagException e) {
            throw new AeadException("ChaCha20-Poly1305 authentication failed");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 decryption failed to start", e);
        }
    }

    /** Noise's and WireGuard's nonce: 4 zero bytes, then the counter as little-endian u64. */
    public static byte[] nonceLE(long counter) {
        byte[] n = new byte[NONCE_LEN];
        for (int i = 0; i < 8; i++) n[4 + i] = (byte) (counter >>> (8 * i));
        return n;
    }

    /** Tailscale ts2021's nonce: 4 zero bytes, then the counter as big-endian u64. */
    public static byte[] nonceBE(long counter) {
        byte[] n = new byte[NONCE_LEN];
        for (int i = 0; i < 8; i++) n[11 - i] = (byte) (counter >>> (8 * i));
        return n;
    }

    private static void check(byte[] key, byte[] nonce) {
        if (key == null || key.length != KEY_LEN) throw new IllegalArgumentException("ChaCha20-Poly1305 key must be 32 bytes");
        if (nonce == null || nonce.length != NONCE_LEN) throw new IllegalArgumentException("ChaCha20-Poly1305 nonce must be 12 bytes");
    }

    private static Cipher newCipher() {
        try {
            return Cipher.getInstance(JCE_NAME);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no " + JCE_NAME, e);
        }
    }
}
