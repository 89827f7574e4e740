package dev.lattice.wireguard.replay;

/**
 * Sliding-window replay protection for transport counters (RFC 6479 style, as wireguard-go's
 * {@code replay.Filter}): a ring of 128 64-bit blocks, so a window of 8128 counters behind the newest.
 * Not thread-safe: the receive path calls it under the keypair's lock or from one thread.
 */
public final class ReplayFilter {
    private static final int BLOCK_BIT_LOG = 6;
    private static final int BLOCK_BITS = 1 << BLOCK_BIT_LOG;
    private static final int RING_BLOCKS = 1 << 7;
    public static final long WINDOW_SIZE = (long) (RING_BLOCKS - 1) * BLOCK_BITS;
    private static final int BLOCK_MASK = RING_BLOCKS - 1;
    private static final int BIT_MASK = BLOCK_BITS - 1;

    private long last;
    private final long[] ring = new long[RING_BLOCKS];

    public void reset() {
        last = 0;
        ring[0] = 0;
    }

    /**
     * Accepts a counter once: true if it is new and inside the window, and below {@code limit} (compared
     * unsigned). Marks it seen.
     */
    public boolean validate(long counter, long limit) {
        if (Long.compareUnsigned(counter, limit) >= 0) return false;
        long indexBlock = counter >>> BLOCK_BIT_LOG;
        if (Long.compareUnsigned(counter, last) > 0) {
            long current = last >>> BLOCK_BIT_LOG;
            long diff = indexBlock - current;
            if (Long.compareUnsigned(diff, RING_BLOCKS) > 0) diff = RING_BLOCKS;
            for (long i = current + 1; i <= current + diff; i++) ring[(int) (i & BLOCK_MASK)] = 0;
            last = counter;
        } else if (Long.compareUnsigned(last - counter, WINDOW_SIZE) > 0) {
            return false;
        }
        int block = (int) (indexBlock & BLOCK_MASK);
        long bit = 1L << (counter & BIT_MASK);
        long old = ring[block];
        ring[block] = old | bit;
        return (old & bit) == 0;
    }
}
