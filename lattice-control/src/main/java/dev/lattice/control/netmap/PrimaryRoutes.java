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
 * subnet, only one, the primary, gets it in peers' AllowedIPs. The primary is the online node serving the prefix that
 * has been online longest ({@link Tailnet#onlineSince}), the lowest id among equals. So a primary stays primary while
 * it is online (a router that comes back does not flap back), as Headscale's; where Headscale fails over to the lowest
 * id, this picks the standby online longest. The election is a function of the tailnet-wide online status alone, not of
 * its history, so replicas sharing a database all elect the same primary. A prefix nobody online serves has no
 * primary. Exit routes are not elected: every approved exit node offers them.
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
        Map<IpPrefix, Long> next = new HashMap<>();
        Map<Long, java.time.Instant> since = new HashMap<>();
        for (TailnetNode n : tailnet.routers()) { // by id: among equal starts the first candidate is the lowest id
            java.util.Optional<java.time.Instant> s = tailnet.onlineSince(n.id());
            if (s.isEmpty()) continue;
            since.put(n.id(), s.get());
            for (IpPrefix r : activeRoutes.apply(n)) {
                if (r.bits() == 0) continue;
                Long best = next.get(r);
                if (best == null || s.get().isBefore(since.get(best))) next.put(r, n.id());
            }
        }
        Set<Long> affected = new TreeSet<>();
        for (var e : primary.entrySet()) if (!e.getValue().equals(next.get(e.getKey()))) affected.add(e.getValue());
        for (var e : next.entrySet()) if (!e.getValue().equals(primary.get(e.getKey()))) affected.add(e.getValue());
        primary = Map.copyOf(next);
        return affected;
    }
}
