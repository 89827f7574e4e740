package dev.lattice.wireguard.device;

import java.security.SecureRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The receiver-index table (wireguard-go's {@code indextable.go}): a random 32-bit local index names a handshake
 * in flight or a session, so an incoming message finds its peer and keys without trying them all.
 */
final class IndexTable {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A handshake in flight (keypair null) or a session. */
    record Entry(Peer peer, Keypair keypair) {}

    private final ConcurrentHashMap<Integer, Entry> table = new ConcurrentHashMap<>();

    /** Reserves a fresh random index for a handshake of {@code p}. */
    int newIndex(Peer p) {
        while (true) {
            int i = RANDOM.nextInt();
            if (table.putIfAbsent(i, new Entry(p, null)) == null) return i;
        }
    }

    /** The entry for {@code index}, or null. */
    Entry lookup(int index) {
        return table.get(index);
    }

    /** Turns a reserved index into a session: from now on transport messages to it are decrypted with kp. */
    void swapInKeypair(int index, Keypair kp) {
        table.put(index, new Entry(kp.peer, kp));
    }

    void remove(int index) {
        table.remove(index);
    }

    /** Forgets a session's index, unless it has been reused for something else since. */
    void deleteKeypair(Keypair kp) {
        if (kp != null) table.computeIfPresent(kp.localIndex, (k, v) -> v.keypair() == kp ? null : v);
    }
}
