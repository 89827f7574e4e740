package dev.lattice.guard;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * Admission for a blocking accept loop (the Netty servers use {@link ConnectionGuard}): at most {@code total}
 * connections open, and at most {@code perSource} of them from one source key (an address, or whatever groups the
 * addresses of one host). Every {@link #tryAcquire} that returns true is paired with one {@link #release}.
 */
public final class ConnectionSlots<K> {
    private final int perSource;
    private final Semaphore total;
    /** Connections open per source; a source with none has no entry. Changed only inside compute. */
    private final Map<K, Integer> bySource = new ConcurrentHashMap<>();

    public ConnectionSlots(int total, int perSource) {
        if (total < 0 || perSource < 0) throw new IllegalArgumentException("limits must not be negative: " + total + ", " + perSource);
        this.total = new Semaphore(total);
        this.perSource = perSource;
    }

    /** Takes a slot for a connection from {@code source}; false, taking nothing, when the source or the total is full. */
    public boolean tryAcquire(K source) {
        boolean[] ok = {false};
        bySource.compute(source, (k, n) -> {
            int have = n == null ? 0 : n;
            if (have >= perSource) return n;
            ok[0] = true;
            return have + 1;
        });
        if (!ok[0]) return false;
        if (total.tryAcquire()) return true;
        releaseSource(source);
        return false;
    }

    /** Gives back the slot a {@link #tryAcquire} of {@code source} took. */
    public void release(K source) {
        total.release();
        releaseSource(source);
    }

    /** Connections open from {@code source}. */
    public int openFrom(K source) {
        return bySource.getOrDefault(source, 0);
    }

    private void releaseSource(K source) {
        bySource.computeIfPresent(source, (k, n) -> n <= 1 ? null : n - 1);
    }
}
