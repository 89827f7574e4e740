package dev.lattice.wireguard.device;

import java.util.Arrays;

/**
 * TAI64N timestamps carried in handshake initiations (12 bytes: big-endian seconds + 2^62 + 10, then
 * big-endian nanoseconds). The nanoseconds are rounded down to 2^24 ns like wireguard-go, so the timestamp
 * does not leak fine timing. Responders accept an initiation only if its timestamp is newer than the last.
 */
final class Tai64n {
    static final int SIZE = 12;
    private static final long BASE = 0x400000000000000aL;
    private static final int WHITENER_MASK = 0x1000000 - 1;

    private Tai64n() {}

    static byte[] of(long epochNanos) {
        long secs = Math.floorDiv(epochNanos, 1_000_000_000L);
        int nanos = (int) Math.floorMod(epochNanos, 1_000_000_000L) & ~WHITENER_MASK;
        long s = BASE + secs;
        byte[] t = new byte[SIZE];
        for (int i = 0; i < 8; i++) t[i] = (byte) (s >>> (56 - 8 * i));
        for (int i = 0; i < 4; i++) t[8 + i] = (byte) (nanos >>> (24 - 8 * i));
        return t;
    }

    /** Strictly newer, comparing as unsigned big-endian bytes. */
    static boolean after(byte[] t, byte[] than) {
        return Arrays.compareUnsigned(t, than) > 0;
    }
}
