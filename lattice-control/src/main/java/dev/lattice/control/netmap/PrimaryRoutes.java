package dev.lattice.control.netmap;

import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * High availability for subnet routers, as headscale's {@code electPrimaryRoutes}: when several nodes serve the same
 * subnet, only one, the primary, gets it in peers' AllowedIPs. The primary is an online node serving the prefix; it
 * stays primary while it is online (no flapping back), otherwise the lowest node id wins. A prefix nobody online
 * serves has no primary. Exit routes are not elected: every approved exit node offers them.
 *
 * <p>Re-elects on every tailnet change (online and offline arrive as patches) and announces the routers whose set of
 * primary prefixes changed, so map sessions send them again with their new AllowedIPs.
 */
public final class PrimaryRoutes {
    private final Tailnet tailnet;
    private final Function<TailnetNode, List<IpPrefix>> activeRoutes;
    private Map<IpPrefix, Long> primary = Map.of(); // guarded by this

    public PrimaryRoutes(Tailnet tailnet, Function<TailnetNode, List<IpPrefix>> activeRoutes) {
        this.tailnet = tailnet;
        this.activeRoutes = activeRoutes;
        elect();
        tailnet.addListener(this::onChanges);
    }

    /** Whether {@code nodeId} is the primary for the subnet {@code prefix}. */
    public synchronized boolean isPrimary(long nodeId, IpPrefix prefix) {
        return Objects.equals(primary.get(prefix), nodeId);
    }

    /** The current election, prefix to node id. */
    public synchronized Map<IpPrefix, Long> primaries() {
        return Map.copyOf(primary);
    }

    private void onChanges(List<Change> changes) {
        // Our own announcements come back here as UPDATED changes; they re-elect to the same result and stop.
        for (long id : elect()) tailnet.announce(id);
    }

    /** Re-elects; returns the nodes that gained or lost a primary prefix. */
    synchronized Set<Long> elect() {
        Map<IpPrefix, List<Long>> candidates = new HashMap<>();
        for (TailnetNode n : tailnet.routers()) { // by id, so the first candidate is the lowest id
            if (!tailnet.isOnline(n.id())) continue;
            for (IpPrefix r : activeRoutes.apply(n)) {
                if (r.bits() != 0) candidates.computeIfAbsent(r, k -> new java.util.ArrayList<>()).add(n.id());
            }
        }
        Map<IpPrefix, Long> next = new HashMap<>();
        candidates.forEach((prefix, ids) -> {
            Long cur = primary.get(prefix);
            next.put(prefix, cur != null && ids.contains(cur) ? cur : ids.getFirst());
        });
        Set<Long> affected = new TreeSet<>();
        for (var e : primary.entrySet()) if (!e.getValue().equals(next.get(e.getKey()))) affected.add(e.getValue());
        for (var e : next.entrySet()) if (!e.getValue().equals(primary.get(e.getKey()))) affected.add(e.getValue());
        primary = Map.copyOf(next);
        return affected;
    }
}
