package dev.lattice.agent.engine;

import dev.lattice.agent.magicsock.TailnetAddrs;
import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.agent.router.RouterConfig;
import dev.lattice.agent.system.HostEnv;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.Node;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The data-plane configuration a network map and the prefs imply, as a pure function (tailscale's {@code nmcfg},
 * {@code routemanager} and {@code routerConfigLocked}): WireGuard peers with their AllowedIPs, and the router's
 * addresses and routes.
 *
 * <p>A peer's own tailnet addresses are always allowed; its other prefixes (subnet routes) only with
 * accept-routes; its exit routes (0.0.0.0/0, ::/0) only when it is the exit node in use. Peers without a key or
 * whose key has expired are left out, as tailscale does.
 *
 * <p>Routes into the interface, as tailscaled installs them: each peer's tailnet IPv4 address as a /32 (so a
 * connection to an address no peer has fails at once), or the whole 100.64.0.0/10 beyond {@link #CGNAT_THRESHOLD}
 * peers; fd7a:115c:a1e0::/48 for the peers' IPv6 addresses; MagicDNS's service addresses; accepted subnet routes;
 * and with an exit node chosen, the exit routes (even before the node is found, so nothing leaks meanwhile), plus
 * this host's LANs, unless LAN access is allowed, in which case they become "throw" routes that fall back to the
 * main table.
 */
public record EngineConfig(List<Peer> peers, RouterConfig router, ExitNode exitNode) {
    /** The CGNAT range and ULA prefix tailnet addresses come from. */
    public static final IpPrefix TAILNET_V4 = TailnetAddrs.CGNAT;
    public static final IpPrefix TAILNET_V6 = TailnetAddrs.ULA;
    public static final IpPrefix ALL_V4 = IpPrefix.parse("0.0.0.0/0");
    public static final IpPrefix ALL_V6 = IpPrefix.parse("::/0");
    /** MagicDNS's addresses (tsaddr.TailscaleServiceIP, TailscaleServiceIPv6). */
    public static final IpPrefix SERVICE_V4 = IpPrefix.parse("100.100.100.100/32");
    public static final IpPrefix SERVICE_V6 = IpPrefix.parse("fd7a:115c:a1e0::53/128");
    /** tailscale's routemanager cgnatThreshold: more peers than this share one 100.64.0.0/10 route. */
    public static final int CGNAT_THRESHOLD = 10_000;
    private static final IpPrefix LINK_LOCAL_V4 = IpPrefix.parse("169.254.0.0/16");
    private static final IpPrefix LINK_LOCAL_V6 = IpPrefix.parse("fe80::/10");

    /** One WireGuard peer. */
    public record Peer(NodePublicKey key, List<IpPrefix> allowedIps) {
        public Peer {
            allowedIps = List.copyOf(allowedIps);
        }
    }

    /**
     * The exit node in use: found in the netmap, offering both exit routes, with a key. This is what other parts of
     * the agent (the peer API's DNS forwarding) need to know about it.
     *
     * @param stableId its stable node ID (what the prefs hold)
     * @param key its node key
     * @param addresses its tailnet addresses
     * @param hostinfo what it says about itself (its Services: the peer API's ports), or null
     */
    public record ExitNode(String stableId, NodePublicKey key, List<IpPrefix> addresses, Hostinfo hostinfo) {
        public ExitNode {
            Objects.requireNonNull(stableId, "stableId");
            Objects.requireNonNull(key, "key");
            addresses = List.copyOf(addresses);
        }
    }

    /**
     * What of the prefs and the host shapes the data plane.
     *
     * @param acceptRoutes take peers' subnet routes (tailscale's RouteAll)
     * @param exitNodeId the exit node chosen by stable ID, or null
     * @param exitNodeSelected whether any exit node is chosen, found yet or not (the exit routes go into the
     *                         interface either way, so internet traffic does not leak while it is looked for)
     * @param allowLanAccess keep this host's LANs direct while an exit node is in use
     * @param advertised the routes this node offers (its forwarding and SNAT)
     * @param snatSubnetRoutes source-NAT traffic forwarded to them (tailscale's !NoSNAT)
     * @param interfaces the host's interfaces (their LANs stay direct, or are sent through the exit node)
     */
    public record Options(boolean acceptRoutes, String exitNodeId, boolean exitNodeSelected, boolean allowLanAccess,
                          List<IpPrefix> advertised, boolean snatSubnetRoutes, List<HostEnv.Interface> interfaces) {
        public Options {
            advertised = List.copyOf(advertised);
            interfaces = List.copyOf(interfaces);
        }

        /** A plain member: no routes offered or exit node used. */
        public static Options of(boolean acceptRoutes) {
            return new Options(acceptRoutes, null, false, false, List.of(), true, List.of());
        }
    }

    public EngineConfig {
        peers = List.copyOf(peers);
    }

    public static EngineConfig from(NetworkMap nm, boolean acceptRoutes, Instant now) {
        return from(nm, Options.of(acceptRoutes), now);
    }

    public static EngineConfig from(NetworkMap nm, Options o, Instant now) {
        List<Peer> peers = new ArrayList<>();
        Set<IpPrefix> cgnat = new LinkedHashSet<>();
        boolean anyUla = false;
        Set<IpPrefix> plain = new LinkedHashSet<>();
        ExitNode exit = null;
        for (Node n : nm.peers()) {
            if (n.key() == null || isExpired(n, now)) continue;
            boolean isExit = o.exitNodeId() != null && o.exitNodeId().equals(stableId(n)) && offersExitNode(n);
            if (isExit) exit = new ExitNode(stableId(n), n.key(), orEmpty(n.addresses()), n.hostinfo());
            List<IpPrefix> allowed = new ArrayList<>();
            for (IpPrefix p : orEmpty(n.allowedIps() != null ? n.allowedIps() : n.addresses())) {
                if (isSelf(n, p)) {
                    allowed.add(p);
                    if (p.isIPv4() && TAILNET_V4.contains(p.address())) cgnat.add(p);
                    else if (!p.isIPv4() && TAILNET_V6.contains(p.address())) anyUla = true;
                    else plain.add(p);
                } else if (p.bits() == 0) {
                    if (isExit) allowed.add(p); // exit routes: only the exit node in use
                } else if (o.acceptRoutes()) {
                    allowed.add(p);
                    plain.add(p);
                }
            }
            peers.add(new Peer(n.key(), allowed));
        }
        List<IpPrefix> local = nm.self() == null ? List.of() : orEmpty(nm.self().addresses());
        Set<IpPrefix> routes = new LinkedHashSet<>();
        if (cgnat.size() > CGNAT_THRESHOLD) routes.add(TAILNET_V4);
        else routes.addAll(cgnat);
        if (anyUla) routes.add(TAILNET_V6);
        if (local.stream().anyMatch(IpPrefix::isIPv4)) routes.add(SERVICE_V4);
        if (local.stream().anyMatch(p -> !p.isIPv4())) routes.add(SERVICE_V6);
        routes.addAll(plain);
        List<IpPrefix> throwRoutes = new ArrayList<>();
        if (o.exitNodeSelected()) {
            routes.add(ALL_V4);
            routes.add(ALL_V6);
            List<IpPrefix> internal = new ArrayList<>(), external = new ArrayList<>();
            interfacePrefixes(o.interfaces(), internal, external);
            throwRoutes.addAll(internal); // guest VM and container networks stay reachable (tailscale: always)
            if (o.allowLanAccess()) throwRoutes.addAll(external);
            else routes.addAll(external); // so nothing for the LAN leaks around the exit node
        }
        RouterConfig rc = new RouterConfig(local, List.copyOf(routes), throwRoutes, o.advertised(), o.snatSubnetRoutes());
        return new EngineConfig(peers, rc, exit);
    }

    /**
     * tailscale's internalAndExternalInterfaces on Linux: the subnets of loopback interfaces are internal, all others
     * external; single addresses and tailnet addresses are neither. Link-local subnets are left out too: they are
     * per-link by nature and an exit node would drop them anyway.
     */
    static void interfacePrefixes(List<HostEnv.Interface> ifaces, List<IpPrefix> internal, List<IpPrefix> external) {
        Set<IpPrefix> in = new LinkedHashSet<>(), ex = new LinkedHashSet<>();
        for (HostEnv.Interface i : ifaces) {
            for (HostEnv.Address a : i.addresses()) {
                if (TailnetAddrs.contains(a.ip()) || a.isSingleIp()) continue;
                IpPrefix p = a.prefix();
                if (LINK_LOCAL_V4.contains(p.address()) || LINK_LOCAL_V6.contains(p.address())) continue;
                (i.loopback() ? in : ex).add(p);
            }
        }
        internal.addAll(in);
        external.addAll(ex);
    }

    /** A peer's own address (tailscale: a single tailnet IP, or one of its Addresses), not a route it offers. */
    static boolean isSelf(Node n, IpPrefix p) {
        return isSingleTailnetIp(p) || (n.addresses() != null && n.addresses().contains(p));
    }

    /** The stable node ID, or the numeric ID when control sends none. */
    public static String stableId(Node n) {
        return n.stableId() != null && !n.stableId().isEmpty() ? n.stableId() : String.valueOf(n.id());
    }

    /** Both exit routes in the peer's AllowedIPs: control approved them and the policy lets us use them. */
    public static boolean offersExitNode(Node n) {
        List<IpPrefix> a = orEmpty(n.allowedIps());
        return a.contains(ALL_V4) && a.contains(ALL_V6);
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
