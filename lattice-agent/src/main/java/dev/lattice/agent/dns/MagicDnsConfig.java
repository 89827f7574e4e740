package dev.lattice.agent.dns;

import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.DNSConfig;
import dev.lattice.wire.tailcfg.DNSRecord;
import dev.lattice.wire.tailcfg.DNSResolver;
import dev.lattice.wire.tailcfg.Node;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What MagicDNS serves, derived from a netmap (tailscale's {@code dnsConfigForNetmap} and {@code dns.Config}).
 * Names are lower-case FQDNs with the trailing dot.
 *
 * @param hosts tailnet names (node names and ExtraRecords) to their addresses
 * @param localDomains suffixes we are authoritative for: unknown names under them get NXDOMAIN
 * @param routes split-DNS suffixes to upstream resolvers ("." is the default route); longest suffix wins
 * @param searchDomains search domains for the host's resolv.conf
 */
public record MagicDnsConfig(
        Map<String, List<InetAddress>> hosts,
        List<String> localDomains,
        Map<String, List<Upstream>> routes,
        List<String> searchDomains) {

    /** Attribute granting AAAA answers for peers even when we have IPv4 (tailcfg NodeAttrMagicDNSPeerAAAA). */
    static final String CAP_PEER_AAAA = "magicdns-aaaa";

    public MagicDnsConfig {
        hosts = Map.copyOf(hosts);
        localDomains = List.copyOf(localDomains);
        Map<String, List<Upstream>> r = new HashMap<>();
        routes.forEach((k, v) -> r.put(k, List.copyOf(v)));
        routes = Map.copyOf(r);
        searchDomains = List.copyOf(searchDomains);
    }

    public static MagicDnsConfig empty() {
        return new MagicDnsConfig(Map.of(), List.of(), Map.of(), List.of());
    }

    /** The config for {@code nm} with "accept DNS" on and no exit node: {@link #from(NetworkMap, ExitNodeDns)}. */
    public static MagicDnsConfig from(NetworkMap nm) {
        return from(nm, ExitNodeDns.NONE);
    }

    /**
     * The config for {@code nm} with "accept DNS" on, as tailscale's {@code dnsConfigForNetmap}. Node names and
     * ExtraRecords always resolve; search domains, the tailnet's own zones (when MagicDNS is on: DNSConfig.Proxied),
     * split routes and default resolvers come from DNSConfig. Resolvers that are neither plain IP[:port] nor
     * {@code http://} URLs (https DoH, DoT) are skipped.
     *
     * <p>While an exit node that proxies DNS is in use, everything that is not a tailnet name goes to its DoH URL,
     * unless control marked resolvers UseWithExitNode: then those are the default, and only split routes with such
     * resolvers (or none: answered here) stay. An exit node that cannot proxy DNS leaves DNSConfig as it is, with the
     * fallback resolvers as the default when control gave none (the LAN's resolvers are likely unreachable).
     */
    public static MagicDnsConfig from(NetworkMap nm, ExitNodeDns exit) {
        Map<String, List<InetAddress>> hosts = new LinkedHashMap<>();
        Node self = nm.self();
        List<IpPrefix> selfAddrs = self == null || self.addresses() == null ? List.of() : self.addresses();
        boolean have4 = selfAddrs.stream().anyMatch(IpPrefix::isIPv4);
        boolean selfV6Only = !have4 && !selfAddrs.isEmpty();
        boolean wantAaaa = self != null && (self.capMap() != null && self.capMap().containsKey(CAP_PEER_AAAA)
                || self.capabilities() != null && self.capabilities().contains(CAP_PEER_AAAA));
        List<Node> nodes = new ArrayList<>();
        if (self != null) nodes.add(self);
        nodes.addAll(nm.peers());
        for (Node n : nodes) {
            String fqdn = fqdn(n.name());
            if (fqdn == null || n.addresses() == null || n.addresses().isEmpty()) continue;
            hosts.put(fqdn, magicAddrs(n.addresses(), selfV6Only, wantAaaa));
        }
        DNSConfig dns = nm.dns();
        if (dns != null && dns.extraRecords() != null) {
            for (DNSRecord r : dns.extraRecords()) {
                if (r == null || r.type() != null && !r.type().isEmpty() && !r.type().equals("A") && !r.type().equals("AAAA")) continue;
                String fqdn = fqdn(r.name());
                if (fqdn == null || r.value() == null) continue;
                try {
                    InetAddress ip = IpPrefix.parseAddress(r.value());
                    hosts.computeIfAbsent(fqdn, k -> new ArrayList<>()).add(ip);
                } catch (IllegalArgumentException e) {
                    // tailscale ignores records whose value is not an IP
                }
            }
        }
        List<String> local = new ArrayList<>();
        Map<String, List<Upstream>> routes = new HashMap<>();
        List<String> search = new ArrayList<>();
        if (dns != null) {
            if (dns.domains() != null) for (String d : dns.domains()) if (fqdn(d) != null) search.add(fqdn(d));
            if (Boolean.TRUE.equals(dns.proxied())) {
                String suffix = magicSuffix(nm);
                if (suffix != null) {
                    local.add(suffix);
                    local.add("0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa.");
                    for (int i = 64; i <= 127; i++) local.add(i + ".100.in-addr.arpa.");
                }
            }
            if (exit.doh() != null) {
                // tailscale: useWithExitNodeResolvers / useWithExitNodeRoutes, and no fallback resolvers.
                List<Upstream> withExit = resolvers(onlyForExitNodes(dns.resolvers()));
                routes.put(".", withExit.isEmpty() ? List.of(new Upstream.Doh(exit.doh())) : withExit);
                if (dns.routes() != null) {
                    dns.routes().forEach((suffix, rs) -> {
                        String f = fqdn(suffix);
                        if (f == null) return;
                        if (rs == null || rs.isEmpty()) {
                            local.add(f);
                            return;
                        }
                        List<Upstream> kept = resolvers(onlyForExitNodes(rs));
                        if (!kept.isEmpty()) routes.put(f, kept);
                    });
                }
                return new MagicDnsConfig(hosts, local, routes, search);
            }
            List<Upstream> defaults = resolvers(dns.resolvers());
            if (defaults.isEmpty() && (exit.selected() || dns.routes() != null && !dns.routes().isEmpty())) {
                // Split-only configs still need a default; so does an exit node without a DNS proxy (tailscale#1713).
                defaults = resolvers(dns.fallbackResolvers());
            }
            if (!defaults.isEmpty()) routes.put(".", defaults);
            if (dns.routes() != null) {
                dns.routes().forEach((suffix, rs) -> {
                    String f = fqdn(suffix);
                    if (f == null) return;
                    if (rs == null || rs.isEmpty()) local.add(f); // an empty route: answered here, NXDOMAIN if unknown
                    else routes.put(f, resolvers(rs));
                });
            }
        } else if (exit.doh() != null) {
            routes.put(".", List.of(new Upstream.Doh(exit.doh())));
        }
        return new MagicDnsConfig(hosts, local, routes, search);
    }

    private static List<DNSResolver> onlyForExitNodes(List<DNSResolver> rs) {
        if (rs == null) return List.of();
        return rs.stream().filter(r -> r != null && Boolean.TRUE.equals(r.useWithExitNode())).toList();
    }

    /** This config with {@code upstream} (the host's own nameservers) as the default route when none is set. */
    public MagicDnsConfig withDefaultUpstream(List<InetSocketAddress> upstream) {
        if (routes.containsKey(".") || upstream.isEmpty()) return this;
        Map<String, List<Upstream>> r = new HashMap<>(routes);
        r.put(".", upstream.stream().map(Upstream::udp).toList());
        return new MagicDnsConfig(hosts, localDomains, r, searchDomains);
    }

    private static List<InetAddress> magicAddrs(List<IpPrefix> addrs, boolean selfV6Only, boolean wantAaaa) {
        boolean have4 = addrs.stream().anyMatch(IpPrefix::isIPv4);
        List<InetAddress> out = new ArrayList<>();
        for (IpPrefix p : addrs) {
            boolean v6 = p.address() instanceof Inet6Address;
            if (selfV6Only) {
                if (v6) out.add(p.address());
                continue;
            }
            // Like tailscale: peers' IPv6 addresses are left out when they have IPv4, unless asked for.
            if (v6 && have4 && !wantAaaa) continue;
            out.add(p.address());
        }
        return out;
    }

    /**
     * The MagicDNS suffix (e.g. {@code tailnet.test.}): from our own node's name, as tailscale does; the map's
     * Domain is the tailnet's name, which Headscale sets to its server host.
     */
    public static String magicSuffix(NetworkMap nm) {
        String selfName = nm.self() == null ? null : fqdn(nm.self().name());
        if (selfName != null) {
            int dot = selfName.indexOf('.');
            if (dot > 0 && dot < selfName.length() - 1) return selfName.substring(dot + 1);
        }
        return fqdn(nm.domain());
    }

    static List<Upstream> resolvers(List<DNSResolver> rs) {
        List<Upstream> out = new ArrayList<>();
        if (rs == null) return out;
        for (DNSResolver r : rs) {
            Upstream u = r == null ? null : parseUpstream(r.addr());
            if (u != null) out.add(u);
        }
        return out;
    }

    /** An IP[:port] resolver or an {@code http://} DoH URL (tailscale's forwarder sends those via the peer API). */
    static Upstream parseUpstream(String addr) {
        if (addr != null && addr.regionMatches(true, 0, "http://", 0, 7)) {
            try {
                return new Upstream.Doh(new java.net.URI(addr));
            } catch (java.net.URISyntaxException | IllegalArgumentException e) {
                return null;
            }
        }
        InetSocketAddress a = parseResolver(addr);
        return a == null ? null : new Upstream.Udp(a);
    }

    /** "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53"; null for DoH/DoT URLs and anything else. */
    static InetSocketAddress parseResolver(String addr) {
        if (addr == null || addr.isEmpty() || addr.contains("://")) return null;
        try {
            String host = addr;
            int port = 53;
            if (addr.startsWith("[")) {
                int close = addr.indexOf(']');
                if (close < 0) return null;
                host = addr.substring(1, close);
                if (close + 1 < addr.length()) {
                    if (addr.charAt(close + 1) != ':') return null;
                    port = Integer.parseInt(addr.substring(close + 2));
                }
            } else if (addr.indexOf(':') >= 0 && addr.indexOf(':') == addr.lastIndexOf(':')) {
                host = addr.substring(0, addr.indexOf(':'));
                port = Integer.parseInt(addr.substring(addr.indexOf(':') + 1));
            }
            if (port < 1 || port > 65535) return null;
            return new InetSocketAddress(IpPrefix.parseAddress(host), port);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Lower-case with one trailing dot; null when empty or not a plausible name. */
    static String fqdn(String name) {
        if (name == null) return null;
        String n = name.trim().toLowerCase(Locale.ROOT);
        while (n.startsWith(".")) n = n.substring(1);
        if (n.isEmpty() || n.length() > 254 || n.contains("..")) return null;
        return n.endsWith(".") ? n : n + ".";
    }

    static boolean isV4(InetAddress a) {
        return a instanceof Inet4Address;
    }
}
