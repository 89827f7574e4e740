package dev.lattice.agent.router;

import dev.lattice.wire.ip.IpPrefix;
import java.util.List;

/**
 * What the host should have for the tailnet interface (tailscale's {@code router.Config}).
 *
 * @param localAddrs our tailnet addresses (host prefixes, /32 and /128)
 * @param routes prefixes sent into the interface: peers' addresses, accepted subnet routes, the exit routes when an
 *               exit node is in use
 * @param localRoutes prefixes that must not go into the interface although a broader route would send them there
 *                    (this host's LANs with an exit node and LAN access): "throw" routes back to the main table
 * @param subnetRoutes the routes this node offers (forwarded for peers, source-NATed unless told otherwise)
 * @param snatSubnetRoutes whether traffic forwarded from the tailnet is source-NATed to this host's address
 */
public record RouterConfig(List<IpPrefix> localAddrs, List<IpPrefix> routes, List<IpPrefix> localRoutes,
                           List<IpPrefix> subnetRoutes, boolean snatSubnetRoutes) {
    public static final RouterConfig EMPTY = new RouterConfig(List.of(), List.of());
    /** What the prefs ask for unless told otherwise (tailscale's NoSNAT is false by default). */
    public static final boolean DEFAULT_SNAT = true;

    public RouterConfig {
        localAddrs = List.copyOf(localAddrs);
        routes = List.copyOf(routes);
        localRoutes = List.copyOf(localRoutes);
        subnetRoutes = List.copyOf(subnetRoutes);
    }

    /** Addresses and routes only: no exit node, nothing offered. */
    public RouterConfig(List<IpPrefix> localAddrs, List<IpPrefix> routes) {
        this(localAddrs, routes, List.of(), List.of(), false);
    }
}
