package dev.lattice.agent.filter;

import dev.lattice.agent.system.HostEnv;
import dev.lattice.wire.ip.IpPrefix;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The destinations traffic from peers may be for (tailscale's filter "local nets", {@code updateFilterLocked}): this
 * node's addresses, the subnets it offers, and, when it offers to be an exit node, the internet: the exit routes
 * minus this host's own LANs and the ranges no exit node should reach (RFC 1918, link-local, multicast, the
 * tailnet's), plus this host's own addresses. An exit node is "guest wifi": to reach its LAN too, the LAN must be
 * offered explicitly. The packet filter's rules then decide who may reach what of these.
 */
public final class LocalNets {
    /** tailscale's removeFromDefaultRoute. */
    static final List<IpPrefix> NOT_THROUGH_AN_EXIT_NODE = List.of(
            IpPrefix.parse("192.168.0.0/16"), IpPrefix.parse("172.16.0.0/12"), IpPrefix.parse("10.0.0.0/8"),
            IpPrefix.parse("169.254.0.0/16"), IpPrefix.parse("224.0.0.0/4"), IpPrefix.parse("100.64.0.0/10"),
            IpPrefix.parse("fe80::/10"), IpPrefix.parse("ff00::/8"), IpPrefix.parse("fd7a:115c:a1e0::/48"));
    static final IpPrefix CGNAT = IpPrefix.parse("100.64.0.0/10");
    static final IpPrefix ULA = IpPrefix.parse("fd7a:115c:a1e0::/48");

    private LocalNets() {}

    /**
     * @param self this node's tailnet addresses
     * @param advertised the routes it offers (0/0 and ::/0 for an exit node)
     * @param interfaces the host's interfaces, for what an exit node keeps to itself
     */
    public static List<IpPrefix> of(List<IpPrefix> self, List<IpPrefix> advertised, List<HostEnv.Interface> interfaces) {
        IpSet s = new IpSet().addAll(self);
        for (IpPrefix r : advertised) {
            if (r.bits() == 0) {
                for (IpPrefix p : shrinkDefaultRoute(r, interfaces)) s.add(p);
            } else {
                s.add(r);
            }
        }
        return s.prefixes();
    }

    /** tailscale's shrinkDefaultRoute: {@code route} minus the host's LANs and forbidden ranges, plus the host's own IPs. */
    static List<IpPrefix> shrinkDefaultRoute(IpPrefix route, List<HostEnv.Interface> interfaces) {
        IpSet s = new IpSet().add(route);
        List<InetAddress> hostIps = new ArrayList<>();
        for (HostEnv.Interface i : interfaces) {
            for (HostEnv.Address a : i.addresses()) {
                if (isTailnet(a.ip()) || a.isSingleIp()) continue;
                hostIps.add(a.ip());
                s.remove(a.prefix());
            }
        }
        for (InetAddress ip : hostIps) if (route.contains(ip)) s.add(ip);
        for (IpPrefix p : NOT_THROUGH_AN_EXIT_NODE) s.remove(p);
        return s.prefixes();
    }

    static boolean isTailnet(InetAddress a) {
        return CGNAT.contains(a) || ULA.contains(a);
    }
}
