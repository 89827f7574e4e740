package dev.lattice.crypto.noise;

import dev.lattice.crypto.AeadException;
import dev.lattice.crypto.ChaChaPoly;
import java.util.Objects;

/**
 * A Noise CipherState (spec §5.1): a ChaCha20-Poly1305 key and a 64-bit message counter used as the nonce.
 * Mutable and not thread-safe: one sender or one receiver owns it.
 */
public final class CipherState {
    /** 2^64-1 (as an unsigned long) is reserved by the spec and never used as a nonce. */
    private static final long RESERVED_NONCE = -1L;

    private final byte[] key;
    private final NonceEncoding encoding;
    private long n;

    public CipherState(byte[] key, NonceEncoding encoding) {
        if (key == null || key.length != ChaChaPoly.KEY_LEN) throw new IllegalArgumentException("CipherState key must be 32 bytes");
        this.key = key.clone();
        this.encoding = Objects.requireNonNull(encoding, "encoding");
    }

    /** Encrypts with the current nonce, then increments it. Returns ciphertext || tag. */
    public byte[] encryptWithAd(byte[] ad, byte[] plaintext) {
        checkNonce();
        byte[] ct = ChaChaPoly.seal(key, encoding.nonce(n), ad, plaintext);
        n++;
        return ct;
    }

    /**
     * As {@link #encryptWithAd} without associated data, from {@code in[off, off + len)} into {@code out} at
     * {@code outOff}; returns the bytes written ({@code len} + the 16-byte tag).
     */
    public int encryptInto(byte[] in, int off, int len, byte[] out, int outOff) {
        checkNonce();
        int written = ChaChaPoly.sealInto(key, encoding.nonce(n), in, off, len, out, outOff);
        n++;
        return written;
    }

    /**
     * As {@link #decryptWithAd} without associated data, from {@code in[off, off + len)} into {@code out} at
     * {@code outOff}; returns the plaintext's length. The nonce moves on only on success.
     */
    public int decryptInto(byte[] in, int off, int len, byte[] out, int outOff) throws AeadException {
        checkNonce();
        int written = ChaChaPoly.openInto(key, encoding.nonce(n), in, off, len, out, outOff);
        n++;
        return written;
    }

    /** Decrypts with the current nonce and increments it only on success (spec §5.1). */
    public byte[] decryptWithAd(byte[] ad, byte[] ciphertext) throws AeadException {
        checkNonce();
        byte[] pt = ChaChaPoly.open(key, encoding.nonce(n), ad, ciphertext);
        n++;
        return pt;
    }

    /** The next nonce, an unsigned 64-bit counter. */
    public long nonce() {
        return n;
    }

    /** The spec's SetNonce, for transports that carry the counter explicitly. */
    public void setNonce(long nonce) {
        this.n = nonce;
    }

    /** A copy of the 32-byte key (WireGuard's data path uses the key directly). */
    public byte[] key() {
        return key.clone();
    }

    public NonceEncoding encoding() {
        return encoding;
    }

    CipherState copy() {
        CipherState c = new CipherState(key, encoding);
        c.n = n;
        return c;
    }

    private void checkNonce() {
        if (n == RESERVED_NONCE) throw new IllegalStateException("CipherState nonce exhausted (2^64-1); rekey or re-handshake");
    }

    @Override
    public String toString() {
        return "CipherState[" + encoding + ", nonce=" + Long.toUnsignedString(n) + ", key redacted]";
    }
}
