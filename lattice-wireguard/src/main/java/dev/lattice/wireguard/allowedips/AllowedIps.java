package dev.lattice.wireguard.allowedips;

import dev.lattice.wire.ip.IpPrefix;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * WireGuard's cryptokey routing table: IP prefixes mapped to peers, looked up by longest-prefix match.
 *
 * <p>Reads are on the packet path and take no lock: writers rebuild immutable binary tries (one per address
 * family) and publish them through a volatile field. Configuration changes are rare, so rebuilding is cheap
 * enough and keeps lookups wait-free. A prefix belongs to at most one peer: inserting it again moves it.
 */
public final class AllowedIps<T> {
    private static final class Node<T> {
        Node<T> zero;
        Node<T> one;
        T value;
    }

    private final Map<IpPrefix, T> entries = new LinkedHashMap<>();
    private volatile Node<T> root4 = new Node<>();
    private volatile Node<T> root6 = new Node<>();

    public synchronized void insert(IpPrefix prefix, T value) {
        entries.remove(prefix); // keep insertion order of the latest owner
        entries.put(prefix, value);
        rebuild();
    }

    public synchronized void remove(IpPrefix prefix) {
        if (entries.remove(prefix) != null) rebuild();
    }

    /** Removes {@code prefix} only if {@code value} owns it. */
    public synchronized void remove(IpPrefix prefix, T value) {
        if (entries.get(prefix) == value && entries.remove(prefix) != null) rebuild();
    }

    public synchronized void removeValue(T value) {
        if (entries.values().removeIf(v -> v == value)) rebuild();
    }

    public synchronized void removeIf(Predicate<T> which) {
        if (entries.values().removeIf(which)) rebuild();
    }

    public synchronized void clear() {
        entries.clear();
        rebuild();
    }

    /** The prefixes owned by {@code value}, in the order they were added. */
    public synchronized List<IpPrefix> prefixesOf(T value) {
        List<IpPrefix> out = new ArrayList<>();
        for (var e : entries.entrySet()) if (e.getValue() == value) out.add(e.getKey());
        return out;
    }

    /**
     * Longest-prefix match of the address at {@code b[off..]}: 4 bytes if {@code v6} is false, else 16.
     * Returns null when nothing matches.
     */
    public T lookup(byte[] b, int off, boolean v6) {
        Node<T> n = v6 ? root6 : root4;
        int bits = v6 ? 128 : 32;
        T best = n.value;
        for (int i = 0; i < bits; i++) {
            int bit = (b[off + (i >>> 3)] >>> (7 - (i & 7))) & 1;
            n = bit == 0 ? n.zero : n.one;
            if (n == null) break;
            if (n.value != null) best = n.value;
        }
        return best;
    }

    public T lookup(java.net.InetAddress a) {
        byte[] b = a.getAddress();
        return lookup(b, 0, b.length == 16);
    }

    private void rebuild() {
        Node<T> r4 = new Node<>();
        Node<T> r6 = new Node<>();
        for (var e : entries.entrySet()) {
            IpPrefix p = e.getKey();
            Node<T> n = p.isIPv4() ? r4 : r6;
            byte[] a = p.bytes();
            for (int i = 0; i < p.bits(); i++) {
                int bit = (a[i >>> 3] >>> (7 - (i & 7))) & 1;
                if (bit == 0) {
                    if (n.zero == null) n.zero = new Node<>();
                    n = n.zero;
                } else {
                    if (n.one == null) n.one = new Node<>();
                    n = n.one;
                }
            }
            n.value = e.getValue();
        }
        root4 = r4;
        root6 = r6;
    }
}
