package dev.lattice.crypto;

import java.util.Objects;
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
        return BcAead.seal(init(true, key, nonce24, aad), "XChaCha20-Poly1305", plaintext);
    }

    public static byte[] open(byte[] key, byte[] nonce24, byte[] aad, byte[] ciphertextAndTag) throws AeadException {
        BcAead.checkLength("XChaCha20-Poly1305", ciphertextAndTag);
        return BcAead.open(init(false, key, nonce24, aad), "XChaCha20-Poly1305", ciphertextAndTag);
    }

    private static XChaCha20Poly1305 init(boolean encrypt, byte[] key, byte[] nonce, byte[] aad) {
        if (key == null || key.length != KEY_LEN) throw new IllegalArgumentException("XChaCha20-Poly1305 key must be 32 bytes");
        if (nonce == null || nonce.length != NONCE_LEN) throw new IllegalArgumentException("XChaCha20-Poly1305 nonce must be 24 bytes");
        XChaCha20Poly1305 c = new XChaCha20Poly1305();
        c.init(encrypt, new AEADParameters(new KeyParameter(key), TAG_LEN * 8, nonce, aad == null || aad.length == 0 ? null : aad));
        return c;
    }
}
