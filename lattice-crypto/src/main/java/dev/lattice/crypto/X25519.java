package dev.lattice.crypto;

import java.security.SecureRandom;

/** Curve25519 Diffie-Hellman (RFC 7748) over BouncyCastle's constant-time implementation. */
public final class X25519 {
    public static final int KEY_LEN = 32;
    private static final SecureRandom RANDOM = new SecureRandom();

    private X25519() {}

    /** 32 random bytes, clamped as RFC 7748 §5 describes (the scalar multiplication clamps anyway). */
    public static byte[] newPrivateKey() {
        byte[] k = new byte[KEY_LEN];
        RANDOM.nextBytes(k);
        org.bouncycastle.math.ec.rfc7748.X25519.clampPrivateKey(k);
        return k;
    }

    public static byte[] publicKey(byte[] priv) {
        check(priv, "private key");
        byte[] pub = new byte[KEY_LEN];
        org.bouncycastle.math.ec.rfc7748.X25519.scalarMultBase(priv, 0, pub, 0);
        return pub;
    }

    /**
     * X25519(priv, pub). An all-zero result means {@code pub} is a low-order point; WireGuard (and Noise's
     * recommendation for it) rejects that, so it is an error here rather than a silently weak key.
     */
    public static byte[] sharedSecret(byte[] priv, byte[] pub) throws CryptoException {
        check(priv, "private key");
        check(pub, "public key");
        byte[] out = new byte[KEY_LEN];
        if (!org.bouncycastle.math.ec.rfc7748.X25519.calculateAgreement(priv, 0, pub, 0, out, 0)) {
            throw new CryptoException("X25519 produced an all-zero shared secret: the public key is a low-order point");
        }
        return out;
    }

    static void check(byte[] key, String what) {
        if (key == null || key.length != KEY_LEN) {
            throw new IllegalArgumentException("X25519 " + what + " must be " + KEY_LEN + " bytes");
        }
    }
}
