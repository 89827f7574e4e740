package dev.lattice.crypto.key;

import dev.lattice.crypto.X25519;

/**
 * A machine's private key (Curve25519, clamped): the static key of the ts2021 Noise IK handshake. Never printed:
 * {@link #toString()} is redacted; {@link #toText()} is for state files.
 */
public record MachinePrivateKey(byte[] raw) {
    /** Tailscale uses the same prefix for every private key type. */
    public static final String PREFIX = "privkey:";

    public MachinePrivateKey {
        raw = KeyBytes.check(raw, "machine private key");
    }

    /** A fresh random key, clamped. */
    public static MachinePrivateKey generate() {
        return new MachinePrivateKey(X25519.newPrivateKey());
    }

    public static MachinePrivateKey parse(String text) {
        return new MachinePrivateKey(KeyBytes.parsePrefixedHex(text, PREFIX, "machine private key"));
    }

    public static MachinePrivateKey fromHex(String hex) {
        return new MachinePrivateKey(KeyBytes.parseHex(hex, "machine private key"));
    }

    public MachinePublicKey publicKey() {
        return new MachinePublicKey(X25519.publicKey(raw));
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
        return "MachinePrivateKey[redacted]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MachinePrivateKey k && KeyBytes.equal(raw, k.raw);
    }

    @Override
    public int hashCode() {
        return KeyBytes.secretHash(raw);
    }
}
