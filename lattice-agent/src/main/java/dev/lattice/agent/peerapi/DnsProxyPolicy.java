package dev.lattice.agent.peerapi;

import dev.lattice.agent.filter.PacketFilter;
import dev.lattice.agent.filter.Verdict;
import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;

/**
 * Who may use our DoH proxy and for which names (tailscale's {@code replyToDNSQueries} and
 * {@code allowExitNodeDNSProxyToServeName}): a peer of our own user always; any other peer only while we offer an
 * exit node and the packet filter would let it reach "the internet" on port 53 (TCP to 0.0.0.0:53, or 2000:: for an
 * IPv6 peer), which is how tailscale tells that the policy lets it use us as an exit node (autogroup:internet). The
 * peer API itself bypasses the packet filter, so this check is the filter's stand-in.
 */
public final class DnsProxyPolicy {
    private static final List<IpPrefix> THE_INTERNET = List.of(IpPrefix.parse("0.0.0.0/0"), IpPrefix.parse("::/0"));
    private static final InetAddress INTERNET_V4 = IpPrefix.parseAddress("0.0.0.0");
    private static final InetAddress INTERNET_V6 = IpPrefix.parseAddress("2000::");

    private final BooleanSupplier offeringExitNode;
    private record Compiled(List<FilterRule> rules, PacketFilter filter) {}
    private volatile Compiled compiled;

    /** @param offeringExitNode whether we advertise both 0.0.0.0/0 and ::/0 (tailscale's {@code OfferingExitNode}) */
    public DnsProxyPolicy(BooleanSupplier offeringExitNode) {
        this.offeringExitNode = offeringExitNode;
    }

    /** Whether {@code peer} may send us DNS queries. */
    public boolean allows(Peer peer, NetworkMap nm) {
        if (peer.sameUser()) return true;
        if (nm == null || !offeringExitNode.getAsBoolean()) return false;
        InetAddress src = peer.remote().getAddress();
        InetAddress dst = src instanceof Inet4Address ? INTERNET_V4 : INTERNET_V6;
        byte[] syn = tcpSyn(src, dst, 53);
        return filterFor(nm.packetFilter()).checkInbound(syn, 0, syn.length) == Verdict.ACCEPT;
    }

    /** Whether the proxy may answer {@code name} (not in the netmap's ExitNodeFilteredSet). */
    public static boolean allowsName(NetworkMap nm, String name) {
        if (nm == null) return false;
        if (nm.dns() == null || nm.dns().exitNodeFilteredSet() == null) return true;
        String n = trimDot(name.toLowerCase(Locale.ROOT));
        for (String bad : nm.dns().exitNodeFilteredSet()) {
            if (bad == null || bad.isEmpty()) continue;
            String b = trimDot(bad.toLowerCase(Locale.ROOT));
            if (b.startsWith(".")) {
                // A suffix: names under it, not the name itself (tailscale's dnsname.HasSuffix).
                if (n.endsWith(b) && n.length() > b.length()) return false;
            } else if (n.equals(b)) {
                return false;
            }
        }
        return true;
    }

    private PacketFilter filterFor(List<FilterRule> rules) {
        Compiled c = compiled;
        if (c == null || c.rules() != rules) {
            c = new Compiled(rules, PacketFilter.compile(rules, THE_INTERNET));
            compiled = c;
        }
        return c.filter();
    }

    /** A bare TCP SYN from {@code src} to {@code dst}:{@code port}, as the filter sees packets. */
    static byte[] tcpSyn(InetAddress src, InetAddress dst, int port) {
        byte[] s = src.getAddress(), d = dst.getAddress();
        int hdr = s.length == 4 ? 20 : 40;
        byte[] p = new byte[hdr + 20];
        if (s.length == 4) {
            p[0] = 0x45;
            p[3] = (byte) p.length;
            p[8] = 64;
            p[9] = 6;
            System.arraycopy(s, 0, p, 12, 4);
            System.arraycopy(d, 0, p, 16, 4);
        } else {
            p[0] = 0x60;
            p[5] = 20;
            p[6] = 6;
            p[7] = 64;
            System.arraycopy(s, 0, p, 8, 16);
            System.arraycopy(d, 0, p, 24, 16);
        }
        p[hdr] = (byte) 0xc0; // an arbitrary source port, 49152
        p[hdr + 2] = (byte) (port >>> 8);
        p[hdr + 3] = (byte) port;
        p[hdr + 12] = 0x50;
        p[hdr + 13] = 0x02; // SYN
        return p;
    }

    private static String trimDot(String s) {
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}
