package dev.lattice.control.netmap;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Bounds the full maps that new streams are being sent at once, counted in bytes of JSON. In a restart storm every
 * node asks for a map of every node at the same moment: building them all at once, and queueing them all for clients
 * that read more slowly than the server writes, held N² bytes (gigabytes at 10,000 nodes). A stream waits for room
 * before its map is built, and the room comes back when the map has been written to its connection.
 *
 * <p>A client that never reads holds its share until its stream is given up, so the wait is bounded: after
 * {@link #WAIT_MILLIS} the map goes out anyway, as it did before there was a budget.
 */
final class FullMapBudget {
    static final long WAIT_MILLIS = 10_000;

    private final Semaphore kib;
    private final int totalKib;
    /** The size of the last full map, as the guess for the next one (maps of one tailnet are much alike). */
    private volatile int estimateKib = 16;

    private final long waitMillis;

    /** @param bytes how much JSON of full maps may be in flight */
    FullMapBudget(long bytes) {
        this(bytes, WAIT_MILLIS);
    }

    /** @param waitMillis how long a map waits for room before it goes out anyway */
    FullMapBudget(long bytes, long waitMillis) {
        this.waitMillis = waitMillis;
        this.totalKib = (int) Math.max(1024, Math.min(Integer.MAX_VALUE, bytes / 1024));
        this.kib = new Semaphore(totalKib);
    }

    /** The default: a quarter of the heap. */
    static FullMapBudget forHeap() {
        return new FullMapBudget(Runtime.getRuntime().maxMemory() / 4);
    }

    /** Waits for room for one map; returns what was taken, to {@link #release} once it is written (0: none). */
    int acquire() {
        int want = Math.min(estimateKib, totalKib);
        try {
            return kib.tryAcquire(want, waitMillis, TimeUnit.MILLISECONDS) ? want : 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    void release(int taken) {
        if (taken > 0) kib.release(taken);
    }

    /** A map of {@code jsonBytes} was built. */
    void observe(int jsonBytes) {
        estimateKib = Math.max(1, jsonBytes / 1024 + 1);
    }

    int availableKib() {
        return kib.availablePermits();
    }
}
