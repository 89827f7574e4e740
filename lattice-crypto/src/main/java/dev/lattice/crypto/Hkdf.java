package dev.lattice.crypto;

import java.util.Arrays;
import java.util.Objects;

/**
 * The HKDF of the Noise spec (§4.3) and the WireGuard paper, instantiated with HMAC-BLAKE2s:
 * {@code t0 = HMAC(ck, input); t1 = HMAC(t0, 0x01); t2 = HMAC(t0, t1 || 0x02); t3 = HMAC(t0, t2 || 0x03)}.
 * It is RFC 5869 with an empty info string and the chaining key as salt.
 */
public final class Hkdf {
    private Hkdf() {}

    /** Returns {@code t1..tn}, each 32 bytes; n is 1, 2 or 3 (WireGuard's KDF1/KDF2/KDF3). */
    public static byte[][] derive(byte[] chainingKey, byte[] input, int n) {
        Objects.requireNonNull(chainingKey, "chainingKey");
        Objects.requireNonNull(input, "input");
        if (n < 1 || n > 3) throw new IllegalArgumentException("HKDF output count must be 1..3, got " + n);
        byte[] t0 = Blake2s.hmac(chainingKey, input);
        byte[][] out = new byte[n][];
        byte[] prev = new byte[0];
        for (int i = 1; i <= n; i++) {
            prev = Blake2s.hmac(t0, prev, new byte[] {(byte) i});
            out[i - 1] = prev;
        }
        Arrays.fill(t0, (byte) 0);
        return out;
    }
}
