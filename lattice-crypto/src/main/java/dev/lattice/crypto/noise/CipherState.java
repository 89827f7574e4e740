package dev.lattice.crypto.noise;

import dev.lattice.crypto.AeadException;
import dev.lattice.crypto.ChaChaPoly;
import dev.lattice.crypto.ChaChaPolyInPlace;
import dev.lattice.crypto.IntrinsicChaChaPoly;
import java.util.Objects;

/**
 * A Noise CipherState (spec §5.1): a ChaCha20-Poly1305 key and a 64-bit message counter used as the nonce.
 * Mutable and not thread-safe: one sender or one receiver owns it.
 *
 * <p>Messages without associated data (transport messages: ts2021's records) go through {@link IntrinsicChaChaPoly}
 * when it is available, which skips the JDK cipher's set-up per message (a control server seals every netmap record
 * by record); the handshake's messages, which carry the handshake hash as associated data, through the JDK's cipher.
 */
public final class CipherState {
    /** 2^64-1 (as an unsigned long) is reserved by the spec and never used as a nonce. */
    private static final long RESERVED_NONCE = -1L;

    /** One per thread (they keep keystream and MAC state); null without the JDK internals' opens. */
    private static final ThreadLocal<IntrinsicChaChaPoly> FAST =
            IntrinsicChaChaPoly.available() ? ThreadLocal.withInitial(IntrinsicChaChaPoly::new) : null;

    private final byte[] key;
    /** The key as IntrinsicChaChaPoly takes it, expanded once. */
    private final int[] words;
    private final NonceEncoding encoding;
    private long n;

    public CipherState(byte[] key, NonceEncoding encoding) {
        if (key == null || key.length != ChaChaPoly.KEY_LEN) throw new IllegalArgumentException("CipherState key must be 32 bytes");
        this.key = key.clone();
        this.words = ChaChaPolyInPlace.key(key);
        this.encoding = Objects.requireNonNull(encoding, "encoding");
    }

    /** Encrypts with the current nonce, then increments it. Returns ciphertext || tag. */
    public byte[] encryptWithAd(byte[] ad, byte[] plaintext) {
        checkNonce();
        byte[] ct;
        if (FAST != null && (ad == null || ad.length == 0)) {
            ct = new byte[plaintext.length + ChaChaPoly.TAG_LEN];
            FAST.get().sealInto(words, counter(), plaintext, 0, plaintext.length, ct, 0);
        } else {
            ct = ChaChaPoly.seal(key, encoding.nonce(n), ad, plaintext);
        }
        n++;
        return ct;
    }

    /**
     * As {@link #encryptWithAd} without associated data, from {@code in[off, off + len)} into {@code out} at
     * {@code outOff}; returns the bytes written ({@code len} + the 16-byte tag).
     */
    public int encryptInto(byte[] in, int off, int len, byte[] out, int outOff) {
        checkNonce();
        int written = FAST != null ? FAST.get().sealInto(words, counter(), in, off, len, out, outOff)
                : ChaChaPoly.sealInto(key, encoding.nonce(n), in, off, len, out, outOff);
        n++;
        return written;
    }

    /**
     * As {@link #decryptWithAd} without associated data, from {@code in[off, off + len)} into {@code out} at
     * {@code outOff}; returns the plaintext's length. The nonce moves on only on success.
     */
    public int decryptInto(byte[] in, int off, int len, byte[] out, int outOff) throws AeadException {
        checkNonce();
        int written;
        if (FAST != null) {
            written = FAST.get().openInto(words, counter(), in, off, len, out, outOff);
            if (written < 0) throw new AeadException("ChaCha20-Poly1305 authentication failed");
        } else {
            written = ChaChaPoly.openInto(key, encoding.nonce(n), in, off, len, out, outOff);
        }
        n++;
        return written;
    }

    /** Decrypts with the current nonce and increments it only on success (spec §5.1). */
    public byte[] decryptWithAd(byte[] ad, byte[] ciphertext) throws AeadException {
        checkNonce();
        byte[] pt;
        if (FAST != null && (ad == null || ad.length == 0)) {
            if (ciphertext.length < ChaChaPoly.TAG_LEN) throw new AeadException("ChaCha20-Poly1305 authentication failed: input shorter than the tag");
            pt = new byte[ciphertext.length - ChaChaPoly.TAG_LEN];
            if (FAST.get().openInto(words, counter(), ciphertext, 0, ciphertext.length, pt, 0) < 0) {
                throw new AeadException("ChaCha20-Poly1305 authentication failed");
            }
        } else {
            pt = ChaChaPoly.open(key, encoding.nonce(n), ad, ciphertext);
        }
        n++;
        return pt;
    }

    /** The counter as IntrinsicChaChaPoly's nonce word: the nonce's last 8 bytes read little-endian. */
    private long counter() {
        return encoding == NonceEncoding.LITTLE_ENDIAN ? n : Long.reverseBytes(n);
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
