package dev.lattice.crypto.key;

import java.security.SecureRandom;
import org.bouncycastle.math.ec.rfc7748.X25519;

/**
 * A node's WireGuard static private key (Curve25519, clamped). Never printed: {@link #toString()} is redacted;
 * the explicit text forms exist for writing state files and the UAPI.
 */
public record NodePrivateKey(byte[] raw) {
    public static final String PREFIX = "privkey:";
    private static final SecureRandom RANDOM = new SecureRandom();

    public NodePrivateKey {
        raw = KeyBytes.check(raw, "private key");
    }

    public static NodePrivateKey generate() {
        byte[] k = new byte[KeyBytes.LEN];
        RANDOM.nextBytes(k);
        clamp(k);
        return new NodePrivateKey(k);
    }

    static void clamp(byte[] k) {
        k[0] &= (byte) 248;
        k[31] = (byte) ((k[31] & 127) | 64);
    }

    public static NodePrivateKey parse(String text) {
        return new NodePrivateKey(KeyBytes.parsePrefixedHex(text, PREFIX, "private key"));
    }

    public static NodePrivateKey fromBase64(String b64) {
        return new NodePrivateKey(KeyBytes.parseBase64(b64, "private key"));
    }

    public static NodePrivateKey fromHex(String hex) {
        return new NodePrivateKey(KeyBytes.parseHex(hex, "private key"));
    }

    public NodePublicKey publicKey() {
        byte[] pub = new byte[KeyBytes.LEN];
        X25519.scalarMultBase(raw, 0, pub, 0);
        return new NodePublicKey(pub);
    }

    @Override
    public byte[] raw() {
        return raw.clone();
    }

    public boolean isZero() {
        return KeyBytes.isZero(raw);
    }

    /** Secret text form for state files only. */
    public String toText() {
        return PREFIX + KeyBytes.hex(raw);
    }

    public String toBase64() {
        return KeyBytes.base64(raw);
    }

    public String toHex() {
        return KeyBytes.hex(raw);
    }

    @Override
    public String toString() {
        return "NodePrivateKey[redacted]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NodePrivateKey k && KeyBytes.equal(raw, k.raw);
    }

    @Override
    public int hashCode() {
        return KeyBytes.secretHash(raw);
    }
}
