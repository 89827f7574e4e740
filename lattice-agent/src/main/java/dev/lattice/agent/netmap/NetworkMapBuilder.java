package dev.lattice.agent.netmap;

import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DNSConfig;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.PeerChange;
import dev.lattice.wire.tailcfg.UserProfile;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Applies the messages of one map session, in order, and yields a {@link NetworkMap} after each (tailscale's
 * {@code controlclient.mapSession}). Null components of a MapResponse mean "unchanged"; {@code Peers} replaces the
 * whole peer set and precludes the other peer deltas of the same message, as in tailscale. Deltas for unknown node
 * IDs are ignored. Not thread-safe: one builder per map stream, fed from one thread.
 */
public final class NetworkMapBuilder {
    /** The name tailscale gives the legacy {@code PacketFilter} among the named chunks. */
    static final String BASE_FILTER = "base";

    private final Clock clock;
    private Node self;
    private final TreeMap<Long, Node> peers = new TreeMap<>();
    private DNSConfig dns;
    private DERPMap derpMap;
    // TreeMap: the filter is the concatenation of the chunks in name order
    private final TreeMap<String, List<FilterRule>> namedFilters = new TreeMap<>();
    private final Map<Long, UserProfile> userProfiles = new HashMap<>();
    private String domain;
    private Instant controlTime;
    private NetworkMap current;

    public NetworkMapBuilder(Clock clock) {
        this.clock = clock;
    }

    public NetworkMapBuilder() {
        this(Clock.systemUTC());
    }

    /** The map after the last applied message, or null before the first. */
    public NetworkMap current() {
        return current;
    }

    /**
     * Applies one message. Returns the new map, or null for a keep-alive (nothing changes).
     *
     * @throws IllegalStateException if the first non-keepalive message has no {@code Node}
     */
    public NetworkMap apply(MapResponse r) {
        if (isKeepAlive(r)) return null;
        if (self == null && r.node() == null) {
            throw new IllegalStateException("the first map response of a session has no Node");
        }
        if (r.node() != null) self = r.node();
        if (r.derpMap() != null) derpMap = mergeDerpMap(derpMap, r.derpMap());
        if (r.dnsConfig() != null) dns = r.dnsConfig();
        if (r.domain() != null) domain = r.domain();
        if (r.controlTime() != null) controlTime = r.controlTime();
        if (r.userProfiles() != null) {
            for (UserProfile p : r.userProfiles()) if (p != null && p.id() != null) userProfiles.put(p.id(), p);
        }
        applyFilters(r);
        applyPeers(r);
        current = new NetworkMap(self, new ArrayList<>(peers.values()), dns, derpMap, concatFilters(), userProfiles,
                domain, controlTime);
        return current;
    }

    /** A message with nothing but KeepAlive (and perhaps a ping request or a session handle) changes nothing. */
    static boolean isKeepAlive(MapResponse r) {
        return Boolean.TRUE.equals(r.keepAlive()) && r.node() == null && r.peers() == null
                && r.peersChanged() == null && r.peersRemoved() == null && r.peersChangedPatch() == null
                && r.peerSeenChange() == null && r.onlineChange() == null && r.derpMap() == null
                && r.dnsConfig() == null && r.packetFilter() == null && r.packetFilters() == null
                && r.userProfiles() == null && r.domain() == null;
    }

    private static DERPMap mergeDerpMap(DERPMap old, DERPMap dm) {
        // Zero-valued fields mean "keep the previous value" (tailscale map.go).
        if (old == null) return dm;
        return new DERPMap(dm.homeParams() != null ? dm.homeParams() : old.homeParams(),
                dm.regions() != null ? dm.regions() : old.regions(),
                dm.regions() != null ? dm.omitDefaultRegions() : old.omitDefaultRegions());
    }

    private void applyFilters(MapResponse r) {
        if (r.packetFilter() != null) {
            // The older single blob is the chunk named "base" (tailscale map.go).
            namedFilters.put(BASE_FILTER, List.copyOf(r.packetFilter()));
        }
        Map<String, List<FilterRule>> m = r.packetFilters();
        if (m != null) {
            // "*": null resets every chunk before this message's chunks apply
            if (m.containsKey("*") && m.get("*") == null) namedFilters.clear();
            for (var e : m.entrySet()) {
                if (e.getKey().equals("*")) continue;
                if (e.getValue() != null) namedFilters.put(e.getKey(), List.copyOf(e.getValue()));
                else namedFilters.remove(e.getKey());
            }
        }
    }

    private List<FilterRule> concatFilters() {
        List<FilterRule> all = new ArrayList<>();
        for (List<FilterRule> chunk : namedFilters.values()) all.addAll(chunk);
        return all;
    }

    private void applyPeers(MapResponse r) {
        if (r.peers() != null) {
            peers.clear();
            for (Node n : r.peers()) if (n != null && n.id() != null) peers.put(n.id(), n);
            return; // a full list precludes the other peer deltas
        }
        if (r.peersRemoved() != null) for (Long id : r.peersRemoved()) if (id != null) peers.remove(id);
        if (r.peersChanged() != null) {
            for (Node n : r.peersChanged()) if (n != null && n.id() != null) peers.put(n.id(), n);
        }
        if (r.peerSeenChange() != null) {
            Instant now = clock.instant();
            r.peerSeenChange().forEach((id, seen) -> peers.computeIfPresent(id,
                    (k, n) -> n.toBuilder().lastSeen(Boolean.TRUE.equals(seen) ? now : null).build()));
        }
        if (r.onlineChange() != null) {
            r.onlineChange().forEach((id, online) -> peers.computeIfPresent(id,
                    (k, n) -> n.toBuilder().online(online).build()));
        }
        if (r.peersChangedPatch() != null) {
            for (PeerChange pc : r.peersChangedPatch()) {
                if (pc == null || pc.nodeId() == null) continue;
                peers.computeIfPresent(pc.nodeId(), (k, n) -> patch(n, pc));
            }
        }
    }

    /** Applies one PeerChange: each non-null (non-zero for DERPRegion/Cap) field replaces the node's. */
    static Node patch(Node n, PeerChange pc) {
        Node.Builder b = n.toBuilder();
        if (pc.derpRegion() != null && pc.derpRegion() != 0) b.homeDerpRegion(pc.derpRegion());
        if (pc.cap() != null && pc.cap() != 0) b.cap(pc.cap());
        if (pc.endpoints() != null) b.endpoints(List.copyOf(pc.endpoints()));
        if (pc.key() != null) b.key(pc.key());
        if (pc.discoKey() != null) b.discoKey(pc.discoKey());
        if (pc.online() != null) b.online(pc.online());
        if (pc.lastSeen() != null) b.lastSeen(pc.lastSeen());
        if (pc.keyExpiry() != null) b.keyExpiry(pc.keyExpiry());
        if (pc.keySignature() != null) b.keySignature(pc.keySignature());
        if (pc.capMap() != null) b.capMap(pc.capMap());
        return b.build();
    }
}
