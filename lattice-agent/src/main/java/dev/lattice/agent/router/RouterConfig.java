package dev.lattice.agent.router;

import dev.lattice.wire.ip.IpPrefix;
import java.util.List;

/**
 * What the host should have for the tailnet interface: our addresses on it and the prefixes routed into it.
 *
 * @param localAddrs our tailnet addresses (host prefixes, /32 and /128)
 * @param routes prefixes sent into the interface: the tailnet ranges and, with accept-routes, peers' subnets
 */
public record RouterConfig(List<IpPrefix> localAddrs, List<IpPrefix> routes) {
    public static final RouterConfig EMPTY = new RouterConfig(List.of(), List.of());

    public RouterConfig {
        localAddrs = List.copyOf(localAddrs);
        routes = List.copyOf(routes);
    }
}
