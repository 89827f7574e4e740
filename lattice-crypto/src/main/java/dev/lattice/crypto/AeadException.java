package dev.lattice.crypto;

/** AEAD authentication failed: wrong key, nonce or associated data, or the ciphertext was altered. */
public class AeadException extends CryptoException {
    public AeadException(String message) {
        super(message);
    }
}
