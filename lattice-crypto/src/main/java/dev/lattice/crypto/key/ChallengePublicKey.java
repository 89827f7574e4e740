package dev.lattice.crypto.key;

/**
 * The control server's per-connection challenge public key (Curve25519). Text form
 * {@code chalpub:<64 hex>} as in Tailscale's {@code key.ChallengePublic}.
 */
public record ChallengePublicKey(byte[] raw) {
    public static final String PREFIX = "chalpub:";

    public ChallengePublicKey {
        raw = KeyBytes.check(raw, "challenge public key");
    }

    public static ChallengePublicKey parse(String text) {
        return new ChallengePublicKey(KeyBytes.parsePrefixedHex(text, PREFIX, "challenge public key"));
    }

    public static ChallengePublicKey fromHex(String hex) {
        return new ChallengePublicKey(KeyBytes.parseHex(hex, "challenge public key"));
    }

    /** A copy of the 32 key bytes. */
    @Override
    public byte[] raw() {
        return raw.clone();
    }

    /** Writes the 32 key bytes into {@code dst} at {@code off} without copying the array. */
    public void copyTo(byte[] dst, int off) {
        System.arraycopy(raw, 0, dst, off, KeyBytes.LEN);
    }

    public boolean isZero() {
        return KeyBytes.isZero(raw);
    }

    public String toHex() {
        return KeyBytes.hex(raw);
    }

    @Override
    public String toString() {
        return PREFIX + KeyBytes.hex(raw);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChallengePublicKey k && KeyBytes.equal(raw, k.raw);
    }

    @Override
    public int hashCode() {
        return KeyBytes.hash(raw);
    }
}
