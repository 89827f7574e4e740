package dev.lattice.crypto.key;

/**
 * A node's WireGuard static public key (Curve25519). Text form {@code nodekey:<64 hex>} as in Tailscale's
 * {@code key.NodePublic}; WireGuard tools use base64 and UAPI uses bare hex.
 */
public record NodePublicKey(byte[] raw) {
    public static final String PREFIX = "nodekey:";

    public NodePublicKey {
        raw = KeyBytes.check(raw, "node public key");
    }

    public static NodePublicKey parse(String text) {
        return new NodePublicKey(KeyBytes.parsePrefixedHex(text, PREFIX, "node public key"));
    }

    public static NodePublicKey fromBase64(String b64) {
        return new NodePublicKey(KeyBytes.parseBase64(b64, "public key"));
    }

    public static NodePublicKey fromHex(String hex) {
        return new NodePublicKey(KeyBytes.parseHex(hex, "public key"));
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

    public String toBase64() {
        return KeyBytes.base64(raw);
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
        return o instanceof NodePublicKey k && KeyBytes.equal(raw, k.raw);
    }

    @Override
    public int hashCode() {
        return KeyBytes.hash(raw);
    }
}
