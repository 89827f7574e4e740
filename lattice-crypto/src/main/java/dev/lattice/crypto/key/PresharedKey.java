package dev.lattice.crypto.key;

/** WireGuard's optional symmetric pre-shared key (all zero = none). Never printed. */
public record PresharedKey(byte[] raw) {
    public static final PresharedKey NONE = new PresharedKey(new byte[KeyBytes.LEN]);

    public PresharedKey {
        raw = KeyBytes.check(raw, "preshared key");
    }

    public static PresharedKey fromBase64(String b64) {
        return new PresharedKey(KeyBytes.parseBase64(b64, "preshared key"));
    }

    public static PresharedKey fromHex(String hex) {
        return new PresharedKey(KeyBytes.parseHex(hex, "preshared key"));
    }

    @Override
    public byte[] raw() {
        return raw.clone();
    }

    public boolean isZero() {
        return KeyBytes.isZero(raw);
    }

    public String toHex() {
        return KeyBytes.hex(raw);
    }

    @Override
    public String toString() {
        return "PresharedKey[redacted]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PresharedKey k && KeyBytes.equal(raw, k.raw);
    }

    @Override
    public int hashCode() {
        return KeyBytes.secretHash(raw);
    }
}
