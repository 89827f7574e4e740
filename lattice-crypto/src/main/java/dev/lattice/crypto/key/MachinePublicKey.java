package dev.lattice.crypto.key;

/**
 * A machine's public key (Curve25519), the identity of the ts2021 control connection. Text form
 * {@code mkey:<64 hex>} as in Tailscale's {@code key.MachinePublic}.
 */
public record MachinePublicKey(byte[] raw) {
    public static final String PREFIX = "mkey:";

    public MachinePublicKey {
        raw = KeyBytes.check(raw, "machine public key");
    }

    public static MachinePublicKey parse(String text) {
        return new MachinePublicKey(KeyBytes.parsePrefixedHex(text, PREFIX, "machine public key"));
    }

    public static MachinePublicKey fromHex(String hex) {
        return new MachinePublicKey(KeyBytes.parseHex(hex, "machine public key"));
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
        return o instanceof MachinePublicKey k && KeyBytes.equal(raw, k.raw);
    }

    @Override
    public int hashCode() {
        return KeyBytes.hash(raw);
    }
}
