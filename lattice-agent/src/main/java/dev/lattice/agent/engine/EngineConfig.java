package dev.lattice.agent.engine;

import dev.lattice.agent.magicsock.TailnetAddrs;
import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.agent.router.RouterConfig;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Node;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The data-plane configuration a network map implies, as a pure function (tailscale's {@code nmcfg.WGCfg}):
 * WireGuard peers with their AllowedIPs, and the router's addresses and routes.
 *
 * <p>A peer's own tailnet addresses are always allowed; its other prefixes (subnet routes) only with
 * accept-routes; default routes only for a selected exit node (not supported yet, so never). Peers without a
 * key or whose key has expired are left out, as tailscale does.
 */
public record EngineConfig(List<Peer> peers, RouterConfig router) {
    /** The CGNAT range and ULA prefix tailnet addresses come from; routed into the interface whenever up. */
    public static final IpPrefix TAILNET_V4 = TailnetAddrs.CGNAT;
    public static final IpPrefix TAILNET_V6 = TailnetAddrs.ULA;

    /** One WireGuard peer. */
    public record Peer(NodePublicKey key, List<IpPrefix> allowedIps) {
        public Peer {
            allowedIps = List.copyOf(allowedIps);
        }
    }

    public EngineConfig {
        peers = List.copyOf(peers);
    }

    public static EngineConfig from(NetworkMap nm, boolean acceptRoutes, Instant now) {
        List<Peer> peers = new ArrayList<>();
        Set<IpPrefix> routes = new LinkedHashSet<>(List.of(TAILNET_V4, TAILNET_V6));
        for (Node n : nm.peers()) {
            if (n.key() == null || isExpired(n, now)) continue;
            List<IpPrefix> allowed = new ArrayList<>();
            for (IpPrefix p : orEmpty(n.allowedIps() != null ? n.allowedIps() : n.addresses())) {
                if (isSingleTailnetIp(p)) {
                    allowed.add(p);
                } else if (p.bits() == 0) {
                    continue; // exit-node route: only for a selected exit node
                } else if (acceptRoutes) {
                    allowed.add(p);
                    routes.add(p);
                }
            }
            peers.add(new Peer(n.key(), allowed));
        }
        List<IpPrefix> local = new ArrayList<>();
        if (nm.self() != null) {
            for (IpPrefix a : orEmpty(nm.self().addresses())) local.add(a);
        }
        return new EngineConfig(peers, new RouterConfig(local, List.copyOf(routes)));
    }

    static boolean isExpired(Node n, Instant now) {
        if (Boolean.TRUE.equals(n.expired())) return true;
        Instant exp = n.keyExpiry();
        return exp != null && exp.getEpochSecond() > 0 && exp.isBefore(now);
    }

    static boolean isSingleTailnetIp(IpPrefix p) {
        InetAddress a = p.address();
        boolean single = p.isIPv4() ? p.bits() == 32 : p.bits() == 128;
        return single && TailnetAddrs.contains(a);
    }

    private static <T> List<T> orEmpty(List<T> l) {
        return l == null ? List.of() : l;
    }
}
