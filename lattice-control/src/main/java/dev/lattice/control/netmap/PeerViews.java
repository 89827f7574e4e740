package dev.lattice.control.netmap;

import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.PeerChange;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each peer as the wire sees it (its tailcfg.Node, its PeersChangedPatch entry), built once per version of the node
 * and shared by every viewer that gets the same routes: a full map of N peers for each of N nodes otherwise built N²
 * nodes. The same instance for the same content also lets {@link MapSessions} recognise identical deltas by identity
 * and encode them once.
 *
 * <p>A view is reused only while it was built from the same stored node (by identity: the tailnet replaces the
 * record on every write), with the same online and expired state (read from what was built, so a change racing the
 * build can only cause a rebuild), routes and client generation. A peer's routes can differ by viewer (co-routers,
 * policies that reduce routes, via grants steering groups to different routers), so each peer and generation keeps
 * up to {@link #VARIANTS} views, one per set of routes, most recently built first: viewers in different groups share
 * their group's view instead of rebuilding the peer for each other. Without such differences there is one.
 */
final class PeerViews {
    private record View(TailnetNode of, boolean online, boolean expired, List<IpPrefix> routes, Node node) {}

    private record Patch(TailnetNode of, boolean online, PeerChange change) {}

    private final Tailnet tailnet;
    private final TailcfgNodes nodes;
    /** Route variants kept per peer and generation. */
    static final int VARIANTS = 4;
    /** Keyed by node id × 2 + (1 for clients that still need the legacy DERP field); each an immutable array. */
    private final ConcurrentHashMap<Long, View[]> views = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Patch> patches = new ConcurrentHashMap<>();

    private final boolean reuse;

    /** @param reuse false builds every view afresh (the direct path, for comparison) */
    PeerViews(Tailnet tailnet, TailcfgNodes nodes, boolean reuse) {
        this.reuse = reuse;
        this.tailnet = tailnet;
        this.nodes = nodes;
    }

    /** {@code peer} for a viewer of capability version {@code capVer} that gets {@code routes}. */
    Node peer(TailnetNode peer, int capVer, List<IpPrefix> routes) {
        long key = peer.id() * 2 + (capVer < CapabilityVersion.HOME_DERP ? 1 : 0);
        View[] vs = reuse ? views.get(key) : null;
        // The clock only for a node that can expire: a full map asks this of every peer.
        boolean online = tailnet.isOnline(peer.id()), expired = peer.expiry() != null && peer.isExpired(tailnet.now());
        if (vs != null) {
            for (View v : vs) {
                if (v.of == peer && v.online == online && v.expired == expired && v.routes.equals(routes)) return v.node;
            }
        }
        Node n = nodes.toTailcfg(peer, false, capVer, routes);
        View built = new View(peer, Boolean.TRUE.equals(n.online()), n.expired() != null, List.copyOf(routes), n);
        // Keep the other variants still current for this version of the node; a concurrent put may drop one (rebuilt later).
        View[] next = new View[Math.min(VARIANTS, (vs == null ? 0 : vs.length) + 1)];
        int k = 0;
        next[k++] = built;
        if (vs != null) {
            for (View v : vs) {
                if (k == next.length) break;
                if (v.of == peer && v.online == built.online && v.expired == built.expired) next[k++] = v;
            }
        }
        views.put(key, k == next.length ? next : java.util.Arrays.copyOf(next, k));
        return n;
    }

    /** {@code peer}'s PeersChangedPatch entry: home DERP, endpoints, disco key, online and last seen. */
    PeerChange patch(TailnetNode peer) {
        Patch p = reuse ? patches.get(peer.id()) : null;
        boolean online = tailnet.isOnline(peer.id());
        if (p != null && p.of == peer && p.online == online) return p.change;
        PeerChange c = PeerChange.builder()
                .nodeId(peer.id())
                .derpRegion(TailcfgNodes.homeDerp(peer))
                .endpoints(peer.endpoints())
                .discoKey(peer.discoKey())
                .online(online)
                .lastSeen(online ? null : peer.lastSeen())
                .build();
        patches.put(peer.id(), new Patch(peer, online, c));
        return c;
    }

    /** Forgets a deleted node's views. */
    void forget(long id) {
        views.remove(id * 2);
        views.remove(id * 2 + 1);
        patches.remove(id);
    }
}
