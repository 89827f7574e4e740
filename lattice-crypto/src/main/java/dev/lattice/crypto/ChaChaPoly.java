package dev.lattice.crypto;

import java.util.Objects;
import org.bouncycastle.crypto.modes.ChaCha20Poly1305;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * ChaCha20-Poly1305 (RFC 8439): 32-byte key, 12-byte nonce, 16-byte tag appended to the ciphertext.
 * Every call uses a fresh BouncyCastle cipher, so the class is thread-safe.
 */
public final class ChaChaPoly {
    public static final int KEY_LEN = 32;
    public static final int NONCE_LEN = 12;
    public static final int TAG_LEN = 16;

    private ChaChaPoly() {}

    /** Returns ciphertext || tag. {@code aad} may be null or empty. */
    public static byte[] seal(byte[] key, byte[] nonce12, byte[] aad, byte[] plaintext) {
        Objects.requireNonNull(plaintext, "plaintext");
        return BcAead.seal(init(true, key, nonce12, aad), "ChaCha20-Poly1305", plaintext);
    }

    /** Verifies the tag and returns the plaintext; throws if anything (key, nonce, aad, bytes) differs. */
    public static byte[] open(byte[] key, byte[] nonce12, byte[] aad, byte[] ciphertextAndTag) throws AeadException {
        BcAead.checkLength("ChaCha20-Poly1305", ciphertextAndTag);
        return BcAead.open(init(false, key, nonce12, aad), "ChaCha20-Poly1305", ciphertextAndTag);
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

    private static ChaCha20Poly1305 init(boolean encrypt, byte[] key, byte[] nonce, byte[] aad) {
        if (key == null || key.length != KEY_LEN) throw new IllegalArgumentException("ChaCha20-Poly1305 key must be 32 bytes");
        if (nonce == null || nonce.length != NONCE_LEN) throw new IllegalArgumentException("ChaCha20-Poly1305 nonce must be 12 bytes");
        ChaCha20Poly1305 c = new ChaCha20Poly1305();
        c.init(encrypt, new AEADParameters(new KeyParameter(key), TAG_LEN * 8, nonce, aad == null || aad.length == 0 ? null : aad));
        return c;
    }
}
