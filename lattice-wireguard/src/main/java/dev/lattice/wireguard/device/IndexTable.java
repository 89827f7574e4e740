package dev.lattice.wireguard.device;

import java.security.SecureRandom;

/**
 * The receiver-index table (wireguard-go's {@code indextable.go}): a random 32-bit local index names a handshake
 * in flight or a session, so an incoming message finds its peer and keys without trying them all.
 *
 * <p>Every transport message looks its index up, so lookups allocate nothing and take no lock: they read an
 * immutable open-addressing table (int keys, no boxing), which each change replaces with a rebuilt copy under a
 * lock. Changes come with handshakes (a few per peer every two minutes), so copying is cheap next to them.
 */
final class IndexTable {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A handshake in flight (keypair null) or a session. */
    record Entry(Peer peer, Keypair keypair) {}

    /** Linear probing over a power-of-two capacity, at most half full; a null value is an empty slot. */
    private record Table(int[] keys, Entry[] values, int size) {
        static final Table EMPTY = new Table(new int[8], new Entry[8], 0);

        Entry get(int key) {
            int mask = keys.length - 1;
            for (int i = mix(key) & mask; ; i = (i + 1) & mask) {
                Entry e = values[i];
                if (e == null) return null;
                if (keys[i] == key) return e;
            }
        }

        /** A copy with {@code key} set to {@code value} (null: removed). */
        Table with(int key, Entry value) {
            int n = size + 1;
            int cap = 8;
            while (cap < 2 * n) cap <<= 1;
            int[] k = new int[cap];
            Entry[] v = new Entry[cap];
            int count = 0;
            for (int i = 0; i < keys.length; i++) {
                if (values[i] == null || keys[i] == key) continue;
                count += put(k, v, keys[i], values[i]);
            }
            if (value != null) count += put(k, v, key, value);
            return new Table(k, v, count);
        }

        private static int put(int[] k, Entry[] v, int key, Entry value) {
            int mask = k.length - 1;
            int i = mix(key) & mask;
            while (v[i] != null) i = (i + 1) & mask;
            k[i] = key;
            v[i] = value;
            return 1;
        }

        /** Indices are random, but a peer could pick the ones it sends us; spread them anyway. */
        private static int mix(int key) {
            int h = key * 0x9E3779B9;
            return h ^ (h >>> 16);
        }
    }

    private volatile Table table = Table.EMPTY;

    /** Reserves a fresh random index for a handshake of {@code p}. */
    int newIndex(Peer p) {
        synchronized (this) {
            while (true) {
                int i = RANDOM.nextInt();
                if (table.get(i) == null) {
                    table = table.with(i, new Entry(p, null));
                    return i;
                }
            }
        }
    }

    /** The entry for {@code index}, or null. */
    Entry lookup(int index) {
        return table.get(index);
    }

    /** Turns a reserved index into a session: from now on transport messages to it are decrypted with kp. */
    synchronized void swapInKeypair(int index, Keypair kp) {
        table = table.with(index, new Entry(kp.peer, kp));
    }

    synchronized void remove(int index) {
        if (table.get(index) != null) table = table.with(index, null);
    }

    /** Forgets a session's index, unless it has been reused for something else since. */
    synchronized void deleteKeypair(Keypair kp) {
        if (kp == null) return;
        Entry e = table.get(kp.localIndex);
        if (e != null && e.keypair() == kp) table = table.with(kp.localIndex, null);
    }

    int size() {
        return table.size();
    }
}
