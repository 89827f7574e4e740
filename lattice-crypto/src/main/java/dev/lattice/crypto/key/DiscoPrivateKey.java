package dev.lattice.crypto.key;

import dev.lattice.crypto.NaclBox;
import dev.lattice.crypto.X25519;

/**
 * A node's disco private key (Curve25519, clamped). Never printed: {@link #toString()} is redacted;
 * {@link #toText()} is for state files.
 */
public record DiscoPrivateKey(byte[] raw) {
    /** Tailscale uses the same prefix for every private key type. */
    public static final String PREFIX = "privkey:";

    public DiscoPrivateKey {
        raw = KeyBytes.check(raw, "disco private key");
    }

    /** A fresh random key, clamped. */
    public static DiscoPrivateKey generate() {
        return new DiscoPrivateKey(X25519.newPrivateKey());
    }

    public static DiscoPrivateKey parse(String text) {
        return new DiscoPrivateKey(KeyBytes.parsePrefixedHex(text, PREFIX, "disco private key"));
    }

    public static DiscoPrivateKey fromHex(String hex) {
        return new DiscoPrivateKey(KeyBytes.parseHex(hex, "disco private key"));
    }

    public DiscoPublicKey publicKey() {
        return new DiscoPublicKey(X25519.publicKey(raw));
    }

    /** The NaCl box key shared with {@code peer}, as Tailscale's {@code DiscoPrivate.Shared}. */
    public NaclBox.SharedKey shared(DiscoPublicKey peer) {
        return NaclBox.precompute(peer.raw(), raw);
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

    public String toHex() {
        return KeyBytes.hex(raw);
    }

    @Override
    public String toString() {
        return "DiscoPrivateKey[redacted]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DiscoPrivateKey k && KeyBytes.equal(raw, k.raw);
    }

    @Override
    public int hashCode() {
        return KeyBytes.secretHash(raw);
    }
}
