package dev.lattice.crypto.key;

/**
 * A node's disco public key (Curve25519), used to NaCl-box disco messages. Text form
 * {@code discokey:<64 hex>} as in Tailscale's {@code key.DiscoPublic}.
 */
public record DiscoPublicKey(byte[] raw) {
    public static final String PREFIX = "discokey:";

    public DiscoPublicKey {
        raw = KeyBytes.check(raw, "disco public key");
    }

    public static DiscoPublicKey parse(String text) {
        return new DiscoPublicKey(KeyBytes.parsePrefixedHex(text, PREFIX, "disco public key"));
    }

    public static DiscoPublicKey fromHex(String hex) {
        return new DiscoPublicKey(KeyBytes.parseHex(hex, "disco public key"));
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
        return o instanceof DiscoPublicKey k && KeyBytes.equal(raw, k.raw);
    }

    @Override
    public int hashCode() {
        return KeyBytes.hash(raw);
    }
}
