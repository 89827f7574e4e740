package dev.lattice.control.state;

import java.util.Arrays;
import java.util.function.LongPredicate;

/**
 * The IDs of the nodes online, as bits: read without a lock and without boxing or hashing (a full map asks for each
 * of its peers, 10,000 times per map at 10,000 nodes: a set of boxed IDs was a tenth of a restart storm's CPU).
 * Changed only under the tailnet's lock, by copying (a change copies N/64 words; readers see one version or the next).
 */
final class OnlineIds {
    private volatile long[] bits = new long[0];

    boolean contains(long id) {
        long[] b = bits;
        long word = id >>> 6;
        return id >= 0 && word < b.length && (b[(int) word] & (1L << id)) != 0;
    }

    /** The bits of IDs {@code 64·w} to {@code 64·w + 63} (bit {@code id % 64}). */
    long word(long w) {
        long[] b = bits;
        return w >= 0 && w < b.length ? b[(int) w] : 0;
    }

    /** Under the tailnet's lock. */
    void add(long id) {
        set(id, true);
    }

    /** Under the tailnet's lock. */
    void remove(long id) {
        set(id, false);
    }

    /** Under the tailnet's lock: drops every ID for which {@code p} holds. */
    void removeIf(LongPredicate p) {
        long[] b = bits.clone();
        for (int w = 0; w < b.length; w++) {
            for (long word = b[w]; word != 0; word &= word - 1) {
                long id = ((long) w << 6) + Long.numberOfTrailingZeros(word);
                if (p.test(id)) b[w] &= ~(1L << id);
            }
        }
        bits = b;
    }

    private void set(long id, boolean on) {
        if (id < 0) throw new IllegalArgumentException("node id " + id);
        int w = Math.toIntExact(id >>> 6);
        long[] b = bits;
        if ((w < b.length && (b[w] & (1L << id)) != 0) == on) return;
        if (!on && w >= b.length) return;
        long[] c = Arrays.copyOf(b, Math.max(b.length, w + 1));
        if (on) c[w] |= 1L << id;
        else c[w] &= ~(1L << id);
        bits = c;
    }
}
