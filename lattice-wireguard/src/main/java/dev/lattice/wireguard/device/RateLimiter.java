package dev.lattice.wireguard.device;

import java.util.HashMap;
import java.util.Map;

/**
 * Token bucket per source address for handshake initiations under load, as wireguard-go's ratelimiter:
 * 20 per second with a burst of 5, IPv6 sources grouped by /64.
 */
final class RateLimiter {
    private static final long PACKET_COST = 1_000_000_000L / 20;
    private static final long MAX_TOKENS = PACKET_COST * 5;
    private static final long GC_INTERVAL = 1_000_000_000L;

    private final Clock clock;
    private final Map<Key, long[]> buckets = new HashMap<>(); // [tokens, lastNanos]
    private long lastGc;

    private record Key(long hi, long lo) {}

    RateLimiter(Clock clock) {
        this.clock = clock;
    }

    /** {@code ip16} is the 16-byte (possibly v4-mapped) source address. */
    synchronized boolean allow(byte[] ip16) {
        long now = clock.nanoTime();
        if (now - lastGc > GC_INTERVAL) {
            buckets.values().removeIf(b -> now - b[1] > GC_INTERVAL);
            lastGc = now;
        }
        boolean v4 = isV4Mapped(ip16);
        long hi = 0, lo = 0;
        for (int i = 0; i < 8; i++) hi = (hi << 8) | (ip16[i] & 0xff);
        if (v4) for (int i = 8; i < 16; i++) lo = (lo << 8) | (ip16[i] & 0xff);
        long[] b = buckets.get(new Key(hi, lo));
        if (b == null) {
            buckets.put(new Key(hi, lo), new long[] {MAX_TOKENS - PACKET_COST, now});
            return true;
        }
        b[0] = Math.min(MAX_TOKENS, b[0] + (now - b[1]));
        b[1] = now;
        if (b[0] > PACKET_COST) {
            b[0] -= PACKET_COST;
            return true;
        }
        return false;
    }

    private static boolean isV4Mapped(byte[] ip) {
        for (int i = 0; i < 10; i++) if (ip[i] != 0) return false;
        return ip[10] == (byte) 0xff && ip[11] == (byte) 0xff;
    }
}
