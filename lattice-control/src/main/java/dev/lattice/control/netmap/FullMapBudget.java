package dev.lattice.control.netmap;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Bounds the full maps that new streams are being sent at once, counted in the bytes of their frames as they go to
 * the connection. In a restart storm every node asks for a map of every node at the same moment, and clients read
 * more slowly than the server writes: queueing them all held N² bytes (at 10,000 nodes a 2 GiB heap ran out within
 * two minutes). A stream waits for room before its map is built, and the room comes back when the map has been
 * written to its connection, or could not be.
 *
 * <p>There is no way around the wait: a map that went out anyway after a while (as this once did after 10 s) put
 * back exactly the unbounded queue, as soon as a storm lasted longer than the wait. A stream whose client is gone
 * stops waiting; a client that stops reading holds its share until its stream is given up (the map sink's write
 * deadline, or the keep-alive PING that is never answered), so it delays others, and cannot grow the heap.
 *
 * <p>Waiters queue in order and are handed their room by whoever gives some back; each wakes on its own only every
 * {@link #POLL_MILLIS} to see that its client is still there. (A fair {@code Semaphore} polled with a timeout did the
 * same with a cost: every timed-out wait unlinked itself by walking the queue, and with 9,000 streams waiting at
 * 10,000 nodes that walk was a quarter of the server's CPU.)
 */
final class FullMapBudget {
    /** How often a waiting stream checks that its client is still there. */
    static final long POLL_MILLIS = 1000;

    /**
     * Before any map was built: more than a peer takes in a zstd map of cached runs (~150 bytes). A fixed guess per map
     * let the first wave of a storm, every stream at once, through as maps of that size.
     */
    static final int FIRST_GUESS_PER_PEER = 256;

    private final int totalKib;
    /** Room left, and the streams waiting for room, first come first served; both guarded by this object. */
    private int availableKib;
    private final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
    /** Bytes per node of the last full map, as the guess for the next one (maps of one tailnet are much alike). */
    private volatile int perNode = FIRST_GUESS_PER_PEER;

    /** A stream waiting for {@code kib}; {@code granted} once it has been taken for it. */
    private static final class Waiter {
        final int kib;
        final Thread thread = Thread.currentThread();
        volatile boolean granted;

        Waiter(int kib) {
            this.kib = kib;
        }
    }

    /** @param bytes how many bytes of full maps may be on their way to clients at once */
    FullMapBudget(long bytes) {
        this.totalKib = (int) Math.max(1024, Math.min(Integer.MAX_VALUE, bytes / 1024));
        this.availableKib = totalKib;
    }

    /**
     * The default: a quarter of the heap. A map is counted with all its frames, though most are shared by every
     * stream (what a stream really holds is less): the bound holds even when nothing is shared.
     */
    static FullMapBudget forHeap() {
        return new FullMapBudget(Runtime.getRuntime().maxMemory() / 4);
    }

    /**
     * Waits for room for one map of a tailnet of {@code nodes} while {@code wanted} (the stream is still open; asked
     * about every {@link #POLL_MILLIS}); returns what was taken, to {@link #release} once the map is written, or -1 if
     * the stream went away first (nothing taken).
     */
    int acquire(int nodes, BooleanSupplier wanted) {
        int want = (int) Math.min(totalKib, (long) perNode * (nodes + 1) / 1024 + 1);
        Waiter w;
        synchronized (this) {
            // Fair: in a storm the first streams to ask get their maps first, none waits for ever behind later ones.
            if (waiting.isEmpty() && availableKib >= want) {
                availableKib -= want;
                return want;
            }
            w = new Waiter(want);
            waiting.addLast(w);
        }
        long next = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS);
        while (!w.granted) {
            LockSupport.parkNanos(this, next - System.nanoTime());
            if (w.granted) break;
            boolean interrupted = Thread.interrupted();
            if (interrupted || System.nanoTime() - next >= 0) {
                if (interrupted || !wanted.getAsBoolean()) {
                    synchronized (this) {
                        if (!w.granted) {
                            waiting.remove(w); // rare (a client gone): a walk of the queue is fine here
                            grant(); // the queue's head may have been this one, holding the others back
                            if (interrupted) Thread.currentThread().interrupt();
                            return -1;
                        }
                    }
                    if (interrupted) Thread.currentThread().interrupt();
                    release(want); // granted meanwhile: given back
                    return -1;
                }
                next = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS);
            }
        }
        return want;
    }

    void release(int taken) {
        if (taken <= 0) return;
        synchronized (this) {
            availableKib += taken;
            grant();
        }
    }

    /** Hands room to the waiters at the front for as long as it lasts (holding the lock). */
    private void grant() {
        for (Waiter w; (w = waiting.peekFirst()) != null && w.kib <= availableKib; ) {
            waiting.pollFirst();
            availableKib -= w.kib;
            w.granted = true;
            LockSupport.unpark(w.thread);
        }
    }

    /** A map of {@code bytes} (as written to the connection) was built in a tailnet of {@code nodes}. */
    void observe(int bytes, int nodes) {
        perNode = Math.max(1, bytes / Math.max(1, nodes) + 1);
    }

    synchronized int availableKib() {
        return availableKib;
    }

    int totalKib() {
        return totalKib;
    }
}
