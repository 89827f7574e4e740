package dev.lattice.agent.filter;

import static dev.lattice.agent.filter.Parsed.FRAGMENT;
import static dev.lattice.agent.filter.Parsed.ICMP4;
import static dev.lattice.agent.filter.Parsed.ICMP6;
import static dev.lattice.agent.filter.Parsed.SCTP;
import static dev.lattice.agent.filter.Parsed.TCP;
import static dev.lattice.agent.filter.Parsed.TSMP;
import static dev.lattice.agent.filter.Parsed.UDP;
import static dev.lattice.agent.filter.Parsed.UNKNOWN;

import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.NetPortRange;
import java.util.ArrayList;
import java.util.List;

/**
 * Decides which packets from peers may reach this node, as tailscale's {@code filter.Filter.RunIn} does:
 * <ul>
 * <li>only packets to our own addresses are considered; multicast and link-local destinations are dropped;
 * <li>TCP: a SYN (without ACK) needs a rule for its source, destination and port; every other TCP packet passes,
 *     since a connection cannot start without a SYN — that is how replies to our own connections get in;
 * <li>UDP and SCTP: a rule, or a reply to a flow we started ({@link #trackOutbound} remembers the last 512);
 * <li>ICMP: echo replies and errors pass; other ICMP passes if any rule lets the source reach the destination;
 * <li>other protocols pass only under a rule naming the protocol for all ports;
 * <li>non-first fragments pass (the receiving kernel drops them without their first fragment); fragments small
 *     enough to hide a transport header are dropped.
 * </ul>
 * Rules with capability sources ({@code cap:...}) and CapGrants match nothing here. Thread-safe and immutable
 * apart from the flow cache, which a recompiled filter can share with the one it replaces.
 */
public final class PacketFilter {
    private static final int[] DEFAULT_PROTOS = {TCP, UDP, ICMP4, ICMP6};
    private static final byte[] GCP_DNS = {(byte) 169, (byte) 254, (byte) 169, (byte) 254};
    private static final int NO_VERDICT = -1;

    private final List<Match> matches4;
    private final List<Match> matches6;
    private final AddrSet local;
    private final FlowCache flows;
    private final List<String> problems;

    private record Dst(byte[] addr, int bits, int first, int last) {
        boolean allPorts() {
            return first == 0 && last == 65535;
        }
    }

    private record Match(boolean[] protos, AddrSet srcs, List<Dst> dsts) {}

    private PacketFilter(List<Match> m4, List<Match> m6, AddrSet local, FlowCache flows, List<String> problems) {
        this.matches4 = m4;
        this.matches6 = m6;
        this.local = local;
        this.flows = flows;
        this.problems = List.copyOf(problems);
    }

    /** A filter from the netmap's rules for a node owning {@code localAddrs}, with a fresh flow cache. */
    public static PacketFilter compile(List<FilterRule> rules, List<IpPrefix> localAddrs) {
        return compile(rules, localAddrs, null);
    }

    /**
     * Like {@link #compile(List, List)}, but keeping the flow cache of {@code shareStateWith} (when not null) so a
     * new netmap does not cut off replies to flows already under way. Entries that cannot be parsed are skipped
     * and listed in {@link #problems()}, as tailscale keeps the rules it could convert.
     */
    public static PacketFilter compile(List<FilterRule> rules, List<IpPrefix> localAddrs, PacketFilter shareStateWith) {
        List<String> problems = new ArrayList<>();
        List<Match> m4 = new ArrayList<>(), m6 = new ArrayList<>();
        for (FilterRule r : rules == null ? List.<FilterRule>of() : rules) {
            if (r == null) continue;
            if (r.srcBits() != null && !r.srcBits().isEmpty()) {
                problems.add("SrcBits is not supported; rule skipped");
                continue;
            }
            boolean[] protos = new boolean[256];
            if (r.ipProto() == null || r.ipProto().isEmpty()) {
                for (int p : DEFAULT_PROTOS) protos[p] = true;
            } else {
                for (Integer p : r.ipProto()) if (p != null && p >= 0 && p <= 0xff) protos[p] = true;
            }
            List<IpPrefix> srcs = new ArrayList<>();
            for (String s : r.srcIps() == null ? List.<String>of() : r.srcIps()) {
                if (s != null && s.startsWith("cap:")) continue; // capability sources: not evaluated here
                try {
                    srcs.addAll(AddrSet.parse(s));
                } catch (IllegalArgumentException e) {
                    problems.add("bad SrcIPs entry: " + e.getMessage());
                }
            }
            List<IpPrefix> dstNets = new ArrayList<>();
            List<int[]> dstPorts = new ArrayList<>();
            boolean skip = false;
            for (NetPortRange d : r.dstPorts() == null ? List.<NetPortRange>of() : r.dstPorts()) {
                if (d == null) continue;
                if (d.bits() != null) {
                    problems.add("DstPorts Bits is not supported; rule skipped");
                    skip = true;
                    break;
                }
                if (d.ip() != null && d.ip().startsWith("cap:")) {
                    problems.add("unexpected capability in DstPorts");
                    continue;
                }
                int first = d.ports() == null || d.ports().first() == null ? 0 : d.ports().first();
                int last = d.ports() == null || d.ports().last() == null ? 0 : d.ports().last();
                try {
                    for (IpPrefix p : AddrSet.parse(d.ip())) {
                        dstNets.add(p);
                        dstPorts.add(new int[] {first, last});
                    }
                } catch (IllegalArgumentException e) {
                    problems.add("bad DstPorts entry: " + e.getMessage());
                }
            }
            if (skip) continue;
            for (boolean v4 : new boolean[] {true, false}) {
                List<IpPrefix> famSrcs = srcs.stream().filter(p -> p.isIPv4() == v4).toList();
                List<Dst> dsts = new ArrayList<>();
                for (int i = 0; i < dstNets.size(); i++) {
                    IpPrefix p = dstNets.get(i);
                    if (p.isIPv4() == v4) dsts.add(new Dst(p.bytes(), p.bits(), dstPorts.get(i)[0], dstPorts.get(i)[1]));
                }
                if (!famSrcs.isEmpty() && !dsts.isEmpty()) {
                    (v4 ? m4 : m6).add(new Match(protos, new AddrSet(famSrcs), List.copyOf(dsts)));
                }
            }
        }
        FlowCache flows = shareStateWith != null ? shareStateWith.flows : new FlowCache();
        return new PacketFilter(List.copyOf(m4), List.copyOf(m6),
                new AddrSet(localAddrs == null ? List.of() : localAddrs), flows, problems);
    }

    /** Rule entries that could not be compiled (for logs; never contains packet data). */
    public List<String> problems() {
        return problems;
    }

    /** The verdict for one IP packet arriving from a peer. Never throws for any bytes within the range. */
    public Verdict checkInbound(byte[] pkt, int off, int len) {
        if (len == 0) return Verdict.ACCEPT; // a WireGuard keepalive
        Parsed q = Parsed.decode(pkt, off, len);
        int pre = pre(q, pkt, len);
        if (pre != NO_VERDICT) return pre == 1 ? Verdict.ACCEPT : Verdict.DROP;
        return runIn(q, pkt, off + len) ? Verdict.ACCEPT : Verdict.DROP;
    }

    /** Records an outgoing packet so replies to its UDP/SCTP flow are let in. Never throws. */
    public void trackOutbound(byte[] pkt, int off, int len) {
        if (len == 0) return;
        Parsed q = Parsed.decode(pkt, off, len);
        if (pre(q, pkt, len) != NO_VERDICT) return;
        if (q.proto == UDP || q.proto == SCTP) {
            // Reversed: the key an inbound reply will produce.
            flows.add(FlowCache.Key.of(q.proto, pkt, q.dstOff, q.dstPort, q.srcOff, q.srcPort, q.addrLen()));
        }
    }

    /** Number of remembered outbound flows (bounded by 512). */
    public int trackedFlows() {
        return flows.size();
    }

    /** 1 accept, 0 drop, NO_VERDICT to go on: the direction-independent checks. */
    private static int pre(Parsed q, byte[] b, int len) {
        if (len < 20) return 0;
        if (q.version == 0 || q.proto == UNKNOWN) return 0;
        int d = q.dstOff;
        if (q.version == 4) {
            if ((b[d] & 0xf0) == 0xe0) return 0; // 224.0.0.0/4 multicast
            if ((b[d] & 0xff) == 169 && (b[d + 1] & 0xff) == 254 && !AddrSet.matches(GCP_DNS, 32, b, d)) return 0;
        } else {
            if ((b[d] & 0xff) == 0xff) return 0; // ff00::/8 multicast
            if ((b[d] & 0xff) == 0xfe && (b[d + 1] & 0xc0) == 0x80) return 0; // fe80::/10 link-local
        }
        if (q.proto == FRAGMENT) return 1;
        return NO_VERDICT;
    }

    private boolean runIn(Parsed q, byte[] b, int end) {
        int alen = q.addrLen();
        if (!local.contains(b, q.dstOff, alen)) return false; // a peer may not send us traffic for others
        List<Match> ms = q.version == 4 ? matches4 : matches6;
        int icmp = q.version == 4 ? ICMP4 : ICMP6;
        int p = q.proto;
        if (p == icmp) {
            int type = q.icmpType(b, end);
            if (type >= 0) {
                boolean echoReply = (q.version == 4 ? type == 0 : type == 129) && q.icmpCode(b) == 0;
                boolean error = q.version == 4 ? type == 3 || type == 11 || type == 12 : type >= 1 && type <= 4;
                if (echoReply || error) return true;
            }
            return matchIpsOnly(ms, b, q, alen);
        }
        switch (p) {
            case TCP -> {
                if ((q.tcpFlags & (Parsed.TCP_SYN | Parsed.TCP_ACK)) != Parsed.TCP_SYN) return true;
                return match(ms, b, q, alen);
            }
            case UDP, SCTP -> {
                if (flows.contains(FlowCache.Key.of(p, b, q.srcOff, q.srcPort, q.dstOff, q.dstPort, alen))) return true;
                return match(ms, b, q, alen);
            }
            case TSMP -> {
                return true;
            }
            default -> {
                return matchProtoAndIpsIfAllPorts(ms, b, q, alen);
            }
        }
    }

    private static boolean match(List<Match> ms, byte[] b, Parsed q, int alen) {
        for (Match m : ms) {
            if (!m.protos[q.proto] || !m.srcs.contains(b, q.srcOff, alen)) continue;
            for (Dst d : m.dsts) {
                if (AddrSet.matches(d.addr, d.bits, b, q.dstOff) && q.dstPort >= d.first && q.dstPort <= d.last) return true;
            }
        }
        return false;
    }

    /** Any rule from this source to this destination, whatever its protocol and ports (tailscale matchIPsOnly). */
    private static boolean matchIpsOnly(List<Match> ms, byte[] b, Parsed q, int alen) {
        for (Match m : ms) {
            if (!m.srcs.contains(b, q.srcOff, alen)) continue;
            for (Dst d : m.dsts) if (AddrSet.matches(d.addr, d.bits, b, q.dstOff)) return true;
        }
        return false;
    }

    private static boolean matchProtoAndIpsIfAllPorts(List<Match> ms, byte[] b, Parsed q, int alen) {
        for (Match m : ms) {
            if (!m.protos[q.proto] || !m.srcs.contains(b, q.srcOff, alen)) continue;
            for (Dst d : m.dsts) if (d.allPorts() && AddrSet.matches(d.addr, d.bits, b, q.dstOff)) return true;
        }
        return false;
    }
}
