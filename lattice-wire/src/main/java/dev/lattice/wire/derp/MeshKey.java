package dev.lattice.wire.derp;

import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * A DERP mesh pre-shared key (tailscale {@code key.DERPMesh}): 32 bytes written as 64 hex digits. Servers of one
 * region share it; a client presenting it may watch connections and forward packets. Compared in constant time;
 * never printed.
 */
public final class MeshKey {
    private final byte[] raw;

    private MeshKey(byte[] raw) {
        this.raw = raw;
    }

    public static MeshKey fromRaw(byte[] raw) {
        if (raw == null || raw.length != 32) throw new IllegalArgumentException("mesh key must be 32 bytes");
        return new MeshKey(raw.clone());
    }

    /** Parses 64 hex digits; surrounding whitespace is ignored (key files end with a newline). */
    public static MeshKey parse(String hex) {
        String s = hex == null ? "" : hex.strip();
        if (s.length() != 64) throw new IllegalArgumentException("mesh key must be a 64-digit hexadecimal number");
        try {
            return new MeshKey(HexFormat.of().parseHex(s));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("mesh key is not valid hex");
        }
    }

    public boolean isZero() {
        int acc = 0;
        for (byte b : raw) acc |= b;
        return acc == 0;
    }

    /** The 64-digit lowercase hex form, as sent in ClientInfo. Secret. */
    public String toHex() {
        return HexFormat.of().formatHex(raw);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MeshKey k && MessageDigest.isEqual(raw, k.raw);
    }

    @Override
    public int hashCode() {
        return 0; // no key material in hash codes; mesh keys are not used as map keys
    }

    @Override
    public String toString() {
        return "MeshKey[redacted]";
    }
}
