package dev.lattice.control.netmap;

import dev.lattice.control.machine.PeerRun;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Node;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Full maps' peers by runs of {@link #SIZE} node IDs, each kept while it would come out the same: its nodes (the same
 * stored records, by identity), which of them the viewer sees, which are online, none of them past its expiry. In a
 * restart storm of N nodes each of N full maps walked all N peers (a view lookup, routes, online, profile, then again
 * to frame them): with runs a map looks at ~N/64 runs, and their frames are made once ({@link PeerRun}).
 *
 * <p>Only runs whose nodes serve no routes, under policies without via grants: a peer's routes can differ from viewer
 * to viewer and with other nodes' state (primary routes), so those peers are built one by one as before. The viewer's
 * own run is built one by one too (it lacks the viewer, so no other map holds it).
 */
final class PeerRuns {
    /** Node IDs per run: 64, one word of the tailnet's online bits, and FramedFullMap's runs. */
    static final int SIZE = 64;
    /** Runs kept per range of IDs and client generation (viewers that see different subsets of the range). */
    static final int VARIANTS = 4;

    /**
     * A run as built: {@code of} every node of the range (visible or not), {@code visible} and {@code online} as bits
     * of the range, {@code run} the visible ones' views (null if none), {@code users} their users in order without
     * repeats in a row, and {@code validUntil} the earliest expiry among them not passed when built (null: none).
     */
    record Entry(long range, TailnetNode[] of, long visible, long online, Instant validUntil, PeerRun run, long[] users) {
        /** The number of the tailnet's nodes it covers. */
        int size() {
            return of.length;
        }

        boolean matches(List<TailnetNode> all, int from, long visibleNow, long onlineNow, Instant now) {
            if (visible != visibleNow || (onlineNow & visible) != online) return false;
            if (validUntil != null && !now.isBefore(validUntil)) return false;
            int end = from + of.length;
            if (end > all.size()) return false;
            for (int k = 0; k < of.length; k++) if (all.get(from + k) != of[k]) return false;
            return end == all.size() || all.get(end).id() / SIZE != range;
        }
    }

    private final Tailnet tailnet;
    private final PeerViews views;
    private final TailcfgNodes nodes;
    /** By range × 2 + (1 for clients that still need the legacy DERP field); newest first; each an immutable array. */
    private final ConcurrentHashMap<Long, Entry[]> entries = new ConcurrentHashMap<>();

    PeerRuns(Tailnet tailnet, PeerViews views, TailcfgNodes nodes) {
        this.tailnet = tailnet;
        this.views = views;
        this.nodes = nodes;
    }

    /**
     * The run of the nodes of {@code all} (sorted by ID) from {@code from} to the end of that node's range of IDs, for a
     * viewer outside that range who sees {@code visible} of it (bits of the range) and gets no routes from it; null when
     * a node of the range has approved routes (build them one by one).
     */
    Entry get(List<TailnetNode> all, int from, long visible, int capVer, Instant now) {
        long range = all.get(from).id() / SIZE;
        long key = range * 2 + (capVer < CapabilityVersion.HOME_DERP ? 1 : 0);
        long online = tailnet.onlineWord(range);
        Entry[] kept = entries.get(key);
        if (kept != null) {
            for (Entry e : kept) if (e.matches(all, from, visible, online, now)) return e;
        }
        Entry built = build(all, from, range, visible, capVer);
        if (built == null) return null;
        List<Entry> next = new ArrayList<>(VARIANTS);
        next.add(built);
        // Other viewers' variants of the same nodes stay; runs of replaced nodes go.
        if (kept != null) {
            for (Entry e : kept) {
                if (next.size() < VARIANTS && java.util.Arrays.equals(e.of, built.of, (a, b) -> a == b ? 0 : 1)) next.add(e);
            }
        }
        entries.put(key, next.toArray(Entry[]::new));
        return built;
    }

    private Entry build(List<TailnetNode> all, int from, long range, long visible, int capVer) {
        int end = from;
        while (end < all.size() && all.get(end).id() / SIZE == range) {
            if (!all.get(end).approvedRoutes().isEmpty()) return null;
            end++;
        }
        TailnetNode[] of = all.subList(from, end).toArray(TailnetNode[]::new);
        List<Node> members = new ArrayList<>(of.length);
        long online = 0;
        Instant validUntil = null;
        long[] users = new long[of.length];
        int userCount = 0;
        for (TailnetNode n : of) {
            int bit = (int) (n.id() % SIZE);
            if ((visible & (1L << bit)) == 0) continue;
            Node v = views.peer(n, capVer, List.of());
            members.add(v);
            // Online and expired as the view has them (a change racing the build then only misses the run later).
            if (Boolean.TRUE.equals(v.online())) online |= 1L << bit;
            if (v.expired() == null && n.expiry() != null && (validUntil == null || n.expiry().isBefore(validUntil))) {
                validUntil = n.expiry();
            }
            long user = nodes.userId(n);
            if (userCount == 0 || users[userCount - 1] != user) users[userCount++] = user;
        }
        PeerRun run = members.isEmpty() ? null : new PeerRun(members.toArray(Node[]::new));
        return new Entry(range, of, visible, online, validUntil, run, java.util.Arrays.copyOf(users, userCount));
    }

    /** Forgets the runs of a deleted node's range. */
    void forget(long id) {
        entries.remove(id / SIZE * 2);
        entries.remove(id / SIZE * 2 + 1);
    }
}
