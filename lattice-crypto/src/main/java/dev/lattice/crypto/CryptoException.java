package dev.lattice.crypto;

/** A cryptographic operation rejected its input (bad key, malformed message, failed authentication). */
public class CryptoException extends Exception {
    public CryptoException(String message) {
        super(message);
    }

    public CryptoException(String message, Throwable cause) {
        super(message, cause);
    }
}
