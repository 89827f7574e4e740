package dev.lattice.agent.filter;

import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.CapGrant;
import dev.lattice.wire.tailcfg.FilterRule;
import java.net.InetAddress;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The capabilities the packet filter's CapGrant rules give a peer towards this node (tailscale's
 * {@code filter.CapsWithValues} as {@code peerCapsLocked} asks it): a rule counts when the peer's address is in its
 * SrcIPs and one of our addresses is in one of its grant's Dsts.
 */
public final class CapGrants {
    private CapGrants() {}

    /** The capability names {@code src} holds towards any of {@code self}. Bad rule entries match nothing. */
    public static Set<String> of(List<FilterRule> rules, InetAddress src, List<InetAddress> self) {
        Set<String> out = new LinkedHashSet<>();
        for (FilterRule r : rules) {
            if (r.capGrant() == null || r.capGrant().isEmpty() || !matchesAny(r.srcIps(), src)) continue;
            for (CapGrant g : r.capGrant()) {
                if (g == null || g.dsts() == null || !coversAny(g.dsts(), self)) continue;
                if (g.capMap() != null) out.addAll(g.capMap().keySet());
                if (g.caps() != null) out.addAll(g.caps());
            }
        }
        return out;
    }

    /**
     * The capabilities {@code src} holds towards any of {@code self} with their values, the values of every
     * matching grant appended in rule order (tailscale's {@code CapsWithValues}); a capability with no values maps
     * to an empty list.
     */
    public static java.util.Map<String, List<tools.jackson.databind.JsonNode>> withValues(List<FilterRule> rules, InetAddress src,
            List<InetAddress> self) {
        java.util.Map<String, List<tools.jackson.databind.JsonNode>> out = new java.util.LinkedHashMap<>();
        for (FilterRule r : rules) {
            if (r.capGrant() == null || r.capGrant().isEmpty() || !matchesAny(r.srcIps(), src)) continue;
            for (CapGrant g : r.capGrant()) {
                if (g == null || g.dsts() == null || !coversAny(g.dsts(), self)) continue;
                if (g.capMap() != null) {
                    g.capMap().forEach((k, v) -> {
                        List<tools.jackson.databind.JsonNode> l = out.computeIfAbsent(k, x -> new java.util.ArrayList<>());
                        if (v != null) l.addAll(v);
                    });
                }
                if (g.caps() != null) for (String c : g.caps()) out.computeIfAbsent(c, x -> new java.util.ArrayList<>());
            }
        }
        return out;
    }

    private static boolean matchesAny(List<String> srcs, InetAddress a) {
        if (srcs == null) return false;
        for (String s : srcs) {
            if (s == null || s.startsWith("cap:")) continue;
            try {
                for (IpPrefix p : AddrSet.parse(s)) if (p.contains(a)) return true;
            } catch (IllegalArgumentException e) {
                // a bad entry matches nothing
            }
        }
        return false;
    }

    private static boolean coversAny(List<IpPrefix> dsts, List<InetAddress> self) {
        for (IpPrefix p : dsts) for (InetAddress a : self) if (p != null && p.contains(a)) return true;
        return false;
    }
}
