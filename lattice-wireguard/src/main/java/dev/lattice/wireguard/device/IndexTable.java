package dev.lattice.wireguard.device;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.security.SecureRandom;

/**
 * The receiver-index table (wireguard-go's {@code indextable.go}): a random 32-bit local index names a handshake
 * in flight or a session, so an incoming message finds its peer and keys without trying them all.
 *
 * <p>Every transport message looks its index up, so lookups allocate nothing (int keys, no boxing) and take no lock:
 * an open-addressing table with linear probing that changes (with handshakes, under a lock) in place. A slot's key is
 * written before its value is published (release/acquire), a removed entry leaves a tombstone that lookups probe past,
 * and when entries and tombstones fill half the slots the table is rebuilt into new arrays. A lookup that races a
 * change sees the entry before or after it.
 */
final class IndexTable {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Entry[].class);
    private static final Entry TOMBSTONE = new Entry(null, null);

    /** A handshake in flight (keypair null) or a session. */
    record Entry(Peer peer, Keypair keypair) {}

    private record Table(int[] keys, Entry[] values) {}

    private volatile Table table = new Table(new int[16], new Entry[16]);
    private int size; // guarded by this
    private int used; // entries and tombstones, guarded by this

    /** Reserves a fresh random index for a handshake of {@code p}. */
    synchronized int newIndex(Peer p) {
        while (true) {
            int i = RANDOM.nextInt();
            if (lookup(i) == null) {
                put(i, new Entry(p, null));
                return i;
            }
        }
    }

    /** The entry for {@code index}, or null. */
    Entry lookup(int index) {
        Table t = table;
        int[] keys = t.keys;
        Entry[] values = t.values;
        int mask = keys.length - 1;
        for (int i = mix(index) & mask; ; i = (i + 1) & mask) {
            Entry e = (Entry) SLOT.getAcquire(values, i);
            if (e == null) return null;
            if (e != TOMBSTONE && keys[i] == index) return e;
        }
    }

    /** Turns a reserved index into a session: from now on transport messages to it are decrypted with kp. */
    synchronized void swapInKeypair(int index, Keypair kp) {
        put(index, new Entry(kp.peer, kp));
    }

    synchronized void remove(int index) {
        int slot = slotOf(index);
        if (slot >= 0) {
            SLOT.setRelease(table.values, slot, TOMBSTONE);
            size--;
        }
    }

    /** Forgets a session's index, unless it has been reused for something else since. */
    synchronized void deleteKeypair(Keypair kp) {
        if (kp == null) return;
        int slot = slotOf(kp.localIndex);
        if (slot >= 0 && table.values[slot].keypair() == kp) {
            SLOT.setRelease(table.values, slot, TOMBSTONE);
            size--;
        }
    }

    synchronized int size() {
        return size;
    }

    /** The slot holding {@code index}, or -1. */
    private int slotOf(int index) {
        int[] keys = table.keys;
        Entry[] values = table.values;
        int mask = keys.length - 1;
        for (int i = mix(index) & mask; ; i = (i + 1) & mask) {
            Entry e = values[i];
            if (e == null) return -1;
            if (e != TOMBSTONE && keys[i] == index) return i;
        }
    }

    private void put(int index, Entry e) {
        int slot = slotOf(index);
        if (slot >= 0) { // replace in place
            SLOT.setRelease(table.values, slot, e);
            return;
        }
        if (2 * (used + 1) > table.keys.length) rebuild(2 * (size + 1));
        int[] keys = table.keys;
        Entry[] values = table.values;
        int mask = keys.length - 1;
        int i = mix(index) & mask;
        while (values[i] != null && values[i] != TOMBSTONE) i = (i + 1) & mask;
        if (values[i] == null) used++;
        keys[i] = index; // before the value: a lookup that sees the value sees its key
        SLOT.setRelease(values, i, e);
        size++;
    }

    /** New arrays with room for {@code need} entries at most half full, without tombstones, published at once. */
    private void rebuild(int need) {
        int cap = 16;
        while (cap < 2 * need) cap <<= 1;
        int[] k = new int[cap];
        Entry[] v = new Entry[cap];
        Table old = table;
        for (int i = 0; i < old.keys.length; i++) {
            Entry e = old.values[i];
            if (e == null || e == TOMBSTONE) continue;
            int j = mix(old.keys[i]) & (cap - 1);
            while (v[j] != null) j = (j + 1) & (cap - 1);
            k[j] = old.keys[i];
            v[j] = e;
        }
        used = size;
        table = new Table(k, v);
    }

    /** Indices are random, but a peer could pick the ones it sends us; spread them anyway. */
    private static int mix(int key) {
        int h = key * 0x9E3779B9;
        return h ^ (h >>> 16);
    }
}
