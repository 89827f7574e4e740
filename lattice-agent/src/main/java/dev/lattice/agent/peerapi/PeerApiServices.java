package dev.lattice.agent.peerapi;

import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.Service;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * The peer API as Hostinfo.Services tells it: the services we advertise for our listeners, the port we try first
 * on an address, and a peer's peer API base and DoH URLs (tailscale's {@code peerAPIServicesLocked},
 * {@code peerAPIBase}, {@code exitNodeCanProxyDNS}).
 */
public final class PeerApiServices {
    public static final String PEERAPI4 = "peerapi4";
    public static final String PEERAPI6 = "peerapi6";
    /** "This node's peer API proxies DNS"; the port is a version, 1. */
    public static final String PEERAPI_DNS = "peerapi-dns-proxy";
    /** Peers of this capability version or newer proxy DNS whatever their Services say (tailscale: added at 25). */
    static final int CAP_DNS_PROXY = 26;
    /** Ports the stable choice tries before an ephemeral one. */
    static final int STABLE_TRIES = 5;

    private PeerApiServices() {}

    /**
     * The {@code attempt}-th port to try on {@code ip} (tailscale's choice): 0x8000 | CRC-32 of the address's last
     * three bytes (the first of them plus {@code attempt}), so a node usually keeps its port across restarts and the
     * IPv4 and IPv6 listeners usually share one, but nobody should hard-code it.
     */
    public static int stablePort(InetAddress ip, int attempt) {
        byte[] a = ip.getAddress();
        byte[] h = {(byte) (a[a.length - 3] + attempt), a[a.length - 2], a[a.length - 1]};
        CRC32 crc = new CRC32();
        crc.update(h);
        return 0x8000 | (int) (crc.getValue() & 0xffff);
    }

    /** What our listeners advertise: peerapi4/peerapi6 with their ports, and the DNS proxy (version 1), as on Linux. */
    public static List<Service> services(Map<InetAddress, Integer> ports) {
        List<Service> out = new ArrayList<>();
        ports.forEach((ip, port) -> out.add(new Service(ip instanceof Inet4Address ? PEERAPI4 : PEERAPI6, port, null)));
        out.sort(java.util.Comparator.comparing(Service::proto));
        out.add(new Service(PEERAPI_DNS, 1, null));
        return List.copyOf(out);
    }

    /** The peer's peerapi4 and peerapi6 ports from its Hostinfo (0 when absent). */
    static int[] ports(Node peer) {
        int[] p = {0, 0};
        if (peer == null || peer.hostinfo() == null) return p;
        for (Service s : peer.hostinfo().services()) {
            if (s == null || s.proto() == null || s.port() == null) continue;
            if (s.proto().equals(PEERAPI4)) p[0] = s.port();
            else if (s.proto().equals(PEERAPI6)) p[1] = s.port();
        }
        return p;
    }

    /**
     * {@code http://ip:port} of the peer's peer API: IPv4 when we have an IPv4 address and it advertises peerapi4,
     * else IPv6 likewise; empty when it has no peer API we can reach.
     */
    public static Optional<URI> base(NetworkMap nm, Node peer) {
        if (nm == null || nm.self() == null || peer == null || peer.hostinfo() == null) return Optional.empty();
        boolean have4 = false, have6 = false;
        for (IpPrefix a : addrs(nm.self())) {
            if (!single(a)) continue;
            if (a.address() instanceof Inet4Address) have4 = true;
            else have6 = true;
        }
        int[] p = ports(peer);
        if (have4 && p[0] != 0) return url(first(peer, true), p[0]);
        if (have6 && p[1] != 0) return url(first(peer, false), p[1]);
        return Optional.empty();
    }

    /** Whether the peer says its peer API proxies DNS (tailscale's {@code peerCanProxyDNS}). */
    public static boolean canProxyDns(Node peer) {
        if (peer == null) return false;
        if (peer.cap() != null && peer.cap() >= CAP_DNS_PROXY) return true;
        if (peer.hostinfo() == null) return false;
        for (Service s : peer.hostinfo().services()) {
            if (s != null && PEERAPI_DNS.equals(s.proto()) && s.port() != null && s.port() >= 1) return true;
        }
        return false;
    }

    /**
     * The DoH URL of {@code exitNode}'s DNS proxy ({@code http://ip:port/dns-query}), as tailscale's
     * {@code exitNodeCanProxyDNS}; empty when it offers none. Unlike tailscale, a peer that claims the proxy by its
     * capability version but advertises no peer API port counts as offering none, so the fallback resolvers serve
     * instead of a URL without a host.
     */
    public static Optional<URI> exitNodeDoh(NetworkMap nm, Node exitNode) {
        if (!canProxyDns(exitNode)) return Optional.empty();
        return base(nm, exitNode).map(b -> URI.create(b + "/dns-query"));
    }

    private static Optional<URI> url(InetAddress ip, int port) {
        if (ip == null || port <= 0 || port > 65535) return Optional.empty();
        String host = ip instanceof Inet6Address ? "[" + IpPrefix.format(ip) + "]" : IpPrefix.format(ip);
        return Optional.of(URI.create("http://" + host + ":" + port));
    }

    private static InetAddress first(Node n, boolean v4) {
        for (IpPrefix a : addrs(n)) {
            if (single(a) && (a.address() instanceof Inet4Address) == v4) return a.address();
        }
        return null;
    }

    static boolean single(IpPrefix p) {
        return p.bits() == (p.isIPv4() ? 32 : 128);
    }

    private static List<IpPrefix> addrs(Node n) {
        return n == null || n.addresses() == null ? List.of() : n.addresses();
    }
}
