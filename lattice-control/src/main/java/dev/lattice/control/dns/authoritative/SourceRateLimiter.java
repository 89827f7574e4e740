package dev.lattice.control.dns.authoritative;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A token bucket per client: {@code rate} queries a second, bursts of twice that. IPv6 clients are counted per /64
 * (one host can hold a whole /64). The table forgets full buckets now and then, and when it would grow past
 * {@link #MAX_SOURCES} (a spoofed flood) new sources share one bucket instead of costing memory.
 */
final class SourceRateLimiter {
    static final int MAX_SOURCES = 100_000;
    private static final Object OVERFLOW = "overflow";

    private static final class Bucket {
        double tokens;
        long last;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.last = now;
        }
    }

    private final double rate;
    private final double burst;
    private final ConcurrentHashMap<Object, Bucket> buckets = new ConcurrentHashMap<>();
    private long lastSweep;

    SourceRateLimiter(int perSecond) {
        this.rate = perSecond;
        this.burst = 2.0 * perSecond;
    }

    /** Whether {@code source} may send one more query at {@code nanos} (System.nanoTime). */
    boolean tryAcquire(InetAddress source, long nanos) {
        Object key = key(source);
        if (buckets.size() >= MAX_SOURCES && !buckets.containsKey(key)) {
            sweep(nanos, true);
            if (buckets.size() >= MAX_SOURCES) key = OVERFLOW;
        }
        boolean[] ok = new boolean[1];
        buckets.compute(key, (k, b) -> {
            if (b == null) b = new Bucket(burst, nanos);
            b.tokens = Math.min(burst, b.tokens + (nanos - b.last) / 1e9 * rate);
            b.last = nanos;
            if (b.tokens >= 1) {
                b.tokens -= 1;
                ok[0] = true;
            }
            return b;
        });
        if (nanos - lastSweep > 60_000_000_000L) sweep(nanos, false);
        return ok[0];
    }

    /** Drops buckets that would be full by now (they behave exactly like a new one). */
    private synchronized void sweep(long nanos, boolean force) {
        if (!force && nanos - lastSweep <= 60_000_000_000L) return;
        lastSweep = nanos;
        buckets.entrySet().removeIf(e -> e.getValue().tokens + (nanos - e.getValue().last) / 1e9 * rate >= burst);
    }

    int size() {
        return buckets.size();
    }

    private static Object key(InetAddress a) {
        if (a instanceof Inet6Address) return ByteBuffer.wrap(a.getAddress(), 0, 8).getLong();
        return a;
    }
}
