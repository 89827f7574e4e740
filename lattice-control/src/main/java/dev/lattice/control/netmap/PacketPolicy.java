package dev.lattice.control.netmap;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.NetPortRange;
import dev.lattice.wire.tailcfg.PortRange;
import java.util.List;

/**
 * What the policy decides for the netmap: each node's inbound packet filter and which peers it may see. The
 * default (no policy set) is Tailscale's allow-all: every node reaches every node.
 */
public interface PacketPolicy {
    List<FilterRule> filterFor(TailnetNode node);

    boolean canSee(TailnetNode viewer, TailnetNode peer);

    /**
     * The ids of the nodes of {@code all} that {@code viewer} may see (as {@link #canSee}), as a bit per node id: one
     * call per netmap instead of one visibility check per pair.
     */
    default java.util.BitSet visiblePeers(TailnetNode viewer, List<TailnetNode> all) {
        java.util.BitSet out = new java.util.BitSet();
        for (TailnetNode n : all) if (n.id() != viewer.id() && canSee(viewer, n)) out.set(Math.toIntExact(n.id()));
        return out;
    }

    /**
     * Of {@code routes} (subnet or exit routes a peer serves), those {@code viewer} may use: the ones it may send
     * to or receive from under the policy (headscale's {@code ReduceRoutes}). Only these go into the peer's
     * AllowedIPs in the viewer's netmap. Without a policy every route is usable.
     */
    default List<IpPrefix> reduceRoutes(TailnetNode viewer, List<IpPrefix> routes) {
        return routes;
    }

    /**
     * What {@code via} grants do to {@code peer}'s routes in {@code viewer}'s netmap (headscale's
     * {@code ViaRoutesForPeer}); {@link ViaRoutes#NONE} without via grants.
     */
    default ViaRoutes viaRoutes(TailnetNode viewer, TailnetNode peer) {
        return ViaRoutes.NONE;
    }

    /** Whether any grant has {@code via}: then a peer's routes may differ from viewer to viewer beyond {@link #reduceRoutes}. */
    default boolean hasVia() {
        return false;
    }

    /**
     * The check period of the first SSH {@code check} rule that covers connections from {@code src} to {@code dst}
     * (zero: check every connection), or empty when none does.
     */
    default java.util.Optional<java.time.Duration> sshCheckPeriod(TailnetNode src, TailnetNode dst) {
        return java.util.Optional.empty();
    }

    /** tailcfg.SSHPolicy for {@code node}; null = none (Tailscale SSH refuses everyone). */
    default tools.jackson.databind.JsonNode sshPolicyFor(TailnetNode node) {
        return null;
    }

    /**
     * The node attributes the policy's {@code nodeAttrs} give {@code node} (e.g. {@code funnel}), in policy order, for
     * its own CapMap. None by default.
     */
    default List<String> nodeAttrs(TailnetNode node) {
        return List.of();
    }

    /** tailcfg.FilterAllowAll: any source, any destination, any port, default protocols. */
    List<FilterRule> ALLOW_ALL_RULES = List.of(new FilterRule(List.of("*"), null,
            List.of(new NetPortRange("*", null, PortRange.ANY)), null, null));

    PacketPolicy ALLOW_ALL = new PacketPolicy() {
        @Override
        public List<FilterRule> filterFor(TailnetNode node) {
            return ALLOW_ALL_RULES;
        }

        @Override
        public boolean canSee(TailnetNode viewer, TailnetNode peer) {
            return true;
        }
    };
}
