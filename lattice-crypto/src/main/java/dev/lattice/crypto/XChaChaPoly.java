package dev.lattice.crypto;

import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.modes.XChaCha20Poly1305;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03): subkey = HChaCha20(key, nonce[0..16)), then ChaCha20-Poly1305
 * with nonce 4 zero bytes || nonce[16..24). WireGuard's cookie replies use it. BouncyCastle's
 * {@link XChaCha20Poly1305} implements exactly that construction; thread-safe (fresh cipher per call).
 */
public final class XChaChaPoly {
    public static final int KEY_LEN = 32;
    public static final int NONCE_LEN = 24;
    public static final int TAG_LEN = 16;

    private XChaChaPoly() {}

    /** Returns ciphertext || tag. {@code aad} may be null or empty. */
    public static byte[] seal(byte[] key, byte[] nonce24, byte[] aad, byte[] plaintext) {
        Objects.requireNonNull(plaintext, "plaintext");
        XChaCha20Poly1305 c = init(true, key, nonce24, aad);
        byte[] out = new byte[plaintext.length + TAG_LEN];
        int n = c.processBytes(plaintext, 0, plaintext.length, out, 0);
        try {
            c.doFinal(out, n);
        } catch (InvalidCipherTextException e) {
            throw new IllegalStateException("XChaCha20-Poly1305 encryption cannot fail", e);
        }
        return out;
    }

    public static byte[] open(byte[] key, byte[] nonce24, byte[] aad, byte[] ciphertextAndTag) throws AeadException {
        Objects.requireNonNull(ciphertextAndTag, "ciphertextAndTag");
        if (ciphertextAndTag.length < TAG_LEN) {
            throw new AeadException("XChaCha20-Poly1305 authentication failed: input shorter than the tag");
        }
        XChaCha20Poly1305 c = init(false, key, nonce24, aad);
        byte[] out = new byte[ciphertextAndTag.length - TAG_LEN];
        try {
            int n = c.processBytes(ciphertextAndTag, 0, ciphertextAndTag.length, out, 0);
            c.doFinal(out, n);
        } catch (InvalidCipherTextException e) {
            Arrays.fill(out, (byte) 0);
            throw new AeadException("XChaCha20-Poly1305 authentication failed");
        }
        return out;
    }

    private static XChaCha20Poly1305 init(boolean encrypt, byte[] key, byte[] nonce, byte[] aad) {
        if (key == null || key.length != KEY_LEN) throw new IllegalArgumentException("XChaCha20-Poly1305 key must be 32 bytes");
        if (nonce == null || nonce.length != NONCE_LEN) throw new IllegalArgumentException("XChaCha20-Poly1305 nonce must be 24 bytes");
        XChaCha20Poly1305 c = new XChaCha20Poly1305();
        c.init(encrypt, new AEADParameters(new KeyParameter(key), TAG_LEN * 8, nonce, aad == null || aad.length == 0 ? null : aad));
        return c;
    }
}
