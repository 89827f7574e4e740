package dev.lattice.agent.filter;

import static dev.lattice.agent.filter.TestPackets.ACK;
import static dev.lattice.agent.filter.TestPackets.ICMP4;
import static dev.lattice.agent.filter.TestPackets.ICMP6;
import static dev.lattice.agent.filter.TestPackets.SCTP;
import static dev.lattice.agent.filter.TestPackets.SYN;
import static dev.lattice.agent.filter.TestPackets.TCP;
import static dev.lattice.agent.filter.TestPackets.UDP;
import static dev.lattice.agent.filter.TestPackets.packet;
import static dev.lattice.agent.filter.TestPackets.tcpSyn;
import static dev.lattice.agent.filter.TestPackets.udp;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.NetPortRange;
import dev.lattice.wire.tailcfg.PortRange;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PacketFilterTest {
    static final int ALLOWED_PROTO = 116, DENIED_PROTO = 127;

    static FilterRule rule(List<String> srcs, List<String> dsts, Integer... protos) {
        List<NetPortRange> d = new ArrayList<>();
        for (String s : dsts) {
            int colon = s.lastIndexOf(':');
            String ip = s.substring(0, colon), ports = s.substring(colon + 1);
            if (ip.startsWith("[")) ip = ip.substring(1, ip.length() - 1);
            PortRange pr;
            if (ports.equals("*")) pr = PortRange.ANY;
            else if (ports.contains("-")) {
                String[] ab = ports.split("-");
                pr = new PortRange(Integer.parseInt(ab[0]), Integer.parseInt(ab[1]));
            } else pr = new PortRange(Integer.parseInt(ports), Integer.parseInt(ports));
            d.add(new NetPortRange(ip, null, pr));
        }
        return new FilterRule(srcs, null, d, protos.length == 0 ? null : Arrays.asList(protos), null);
    }

    static List<IpPrefix> prefixes(String... s) {
        return Stream.of(s).map(IpPrefix::parse).toList();
    }

    /** The rule set of tailscale's filter_test.go newFilter, without the capability rule. */
    static PacketFilter tailscaleTestFilter() {
        List<FilterRule> rules = List.of(
                rule(List.of("8.1.1.1", "8.2.2.2"), List.of("1.2.3.4:22", "5.6.7.8:23-24")),
                rule(List.of("9.1.1.1", "9.2.2.2"), List.of("1.2.3.4:22", "5.6.7.8:23-24"), SCTP),
                rule(List.of("8.1.1.1", "8.2.2.2"), List.of("5.6.7.8:27-28")),
                rule(List.of("2.2.2.2"), List.of("8.1.1.1:22")),
                rule(List.of("0.0.0.0/0"), List.of("100.122.98.50:*")),
                rule(List.of("0.0.0.0/0"), List.of("0.0.0.0/0:443")),
                rule(List.of("153.1.1.1", "153.1.1.2", "153.3.3.3"), List.of("1.2.3.4:999")),
                rule(List.of("::1", "::2"), List.of("[2001::1]:22", "[2001::2]:22")),
                rule(List.of("::/0"), List.of("[::/0]:443")),
                rule(List.of("0.0.0.0/0"), List.of("0.0.0.0/0:*"), ALLOWED_PROTO),
                rule(List.of("::/0"), List.of("[::/0]:*"), ALLOWED_PROTO),
                rule(List.of("cap:cap-hit-1234-ssh"), List.of("1.2.3.4:22")));
        return PacketFilter.compile(rules, prefixes("100.122.98.50", "1.2.3.4", "5.6.7.8", "102.102.102.102",
                "119.119.119.119", "8.1.0.0/16", "2001::/16"));
    }

    static Stream<Arguments> tailscaleTable() {
        return Stream.of(
                Arguments.of(true, TCP, "8.1.1.1", "1.2.3.4", 999, 22),
                Arguments.of(true, ICMP4, "8.1.1.1", "1.2.3.4", 8, 0),
                Arguments.of(false, TCP, "8.1.1.1", "1.2.3.4", 0, 0),
                Arguments.of(true, TCP, "8.1.1.1", "1.2.3.4", 0, 22),
                Arguments.of(false, TCP, "8.1.1.1", "1.2.3.4", 0, 21),
                Arguments.of(true, TCP, "8.2.2.2", "1.2.3.4", 0, 22),
                Arguments.of(false, TCP, "8.2.2.2", "1.2.3.4", 0, 23),
                Arguments.of(false, TCP, "8.3.3.3", "1.2.3.4", 0, 22),
                Arguments.of(true, TCP, "8.1.1.1", "5.6.7.8", 0, 23),
                Arguments.of(true, TCP, "8.1.1.1", "5.6.7.8", 0, 24),
                Arguments.of(false, TCP, "8.1.1.3", "5.6.7.8", 0, 24),
                Arguments.of(false, TCP, "8.1.1.1", "5.6.7.8", 0, 22),
                Arguments.of(true, TCP, "17.34.51.68", "8.1.34.51", 0, 443),
                Arguments.of(false, TCP, "17.34.51.68", "8.1.34.51", 0, 444),
                Arguments.of(true, TCP, "17.34.51.68", "100.122.98.50", 0, 999),
                Arguments.of(true, TCP, "17.34.51.68", "100.122.98.50", 0, 0),
                Arguments.of(true, TCP, "::1", "2001::1", 0, 22),
                Arguments.of(true, ICMP6, "::1", "2001::1", 128, 0),
                Arguments.of(true, TCP, "::2", "2001::1", 0, 22),
                Arguments.of(true, TCP, "::2", "2001::2", 0, 22),
                Arguments.of(false, TCP, "::1", "2001::1", 0, 23),
                Arguments.of(false, TCP, "::1", "2001::3", 0, 22),
                Arguments.of(false, TCP, "::3", "2001::1", 0, 22),
                Arguments.of(true, TCP, "::1", "2001::1", 0, 443),
                Arguments.of(false, TCP, "::1", "2001::1", 0, 444),
                Arguments.of(false, TCP, "8.1.1.1", "16.32.48.64", 0, 443), // not a local address
                Arguments.of(false, TCP, "1::", "2602::1", 0, 443),
                Arguments.of(false, SCTP, "8.1.1.1", "1.2.3.4", 999, 22), // SCTP not in the rule's protocols
                Arguments.of(true, SCTP, "9.1.1.1", "1.2.3.4", 999, 22),
                Arguments.of(true, ALLOWED_PROTO, "1.2.3.4", "5.6.7.8", 0, 0),
                Arguments.of(true, ALLOWED_PROTO, "2001::1", "2001::2", 0, 0),
                Arguments.of(false, DENIED_PROTO, "1.2.3.4", "5.6.7.8", 0, 0),
                Arguments.of(false, DENIED_PROTO, "2001::1", "2001::2", 0, 0),
                Arguments.of(false, TCP, "10.0.0.1", "1.2.3.4", 30000, 22)); // cap rules never match here
    }

    @ParameterizedTest
    @MethodSource("tailscaleTable")
    void inboundVerdictsMatchTailscale(boolean accept, int proto, String src, String dst, int sport, int dport) {
        PacketFilter f = tailscaleTestFilter();
        Verdict want = accept ? Verdict.ACCEPT : Verdict.DROP;
        byte[] p = packet(proto, src, dst, sport, dport, SYN);
        assertThat(f.checkInbound(p, 0, p.length)).isEqualTo(want);
        if (proto == TCP) {
            // TCP and UDP are treated alike when there is no flow state.
            byte[] u = packet(UDP, src, dst, sport, dport, 0);
            assertThat(f.checkInbound(u, 0, u.length)).isEqualTo(want);
        }
    }

    @Test
    void tcpNonSynPassesEvenWithoutRule() {
        PacketFilter f = PacketFilter.compile(List.of(), prefixes("100.64.0.1"));
        byte[] synAck = packet(TCP, "100.64.0.2", "100.64.0.1", 22, 40000, SYN | ACK);
        byte[] ack = packet(TCP, "100.64.0.2", "100.64.0.1", 22, 40000, ACK);
        assertThat(f.checkInbound(synAck, 0, synAck.length)).isEqualTo(Verdict.ACCEPT);
        assertThat(f.checkInbound(ack, 0, ack.length)).isEqualTo(Verdict.ACCEPT);
        byte[] syn = tcpSyn("100.64.0.2", "100.64.0.1", 40000, 22);
        assertThat(f.checkInbound(syn, 0, syn.length)).isEqualTo(Verdict.DROP);
    }

    @Test
    void udpRepliesToOurFlowsPassAndOnlyThose() {
        PacketFilter f = PacketFilter.compile(List.of(), prefixes("100.64.0.1", "fd7a:115c:a1e0::1"));
        byte[] reply = udp("100.64.0.2", "100.64.0.1", 53, 40000);
        assertThat(f.checkInbound(reply, 0, reply.length)).isEqualTo(Verdict.DROP);
        byte[] out = udp("100.64.0.1", "100.64.0.2", 40000, 53);
        f.trackOutbound(out, 0, out.length);
        assertThat(f.checkInbound(reply, 0, reply.length)).isEqualTo(Verdict.ACCEPT);
        byte[] otherPort = udp("100.64.0.2", "100.64.0.1", 54, 40000);
        assertThat(f.checkInbound(otherPort, 0, otherPort.length)).isEqualTo(Verdict.DROP);
        byte[] otherHost = udp("100.64.0.3", "100.64.0.1", 53, 40000);
        assertThat(f.checkInbound(otherHost, 0, otherHost.length)).isEqualTo(Verdict.DROP);

        byte[] out6 = udp("fd7a:115c:a1e0::1", "fd7a:115c:a1e0::2", 5000, 6000);
        f.trackOutbound(out6, 0, out6.length);
        byte[] reply6 = udp("fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", 6000, 5000);
        assertThat(f.checkInbound(reply6, 0, reply6.length)).isEqualTo(Verdict.ACCEPT);

        // A recompiled filter that shares state keeps the flow; a fresh one does not.
        PacketFilter shared = PacketFilter.compile(List.of(), prefixes("100.64.0.1"), f);
        assertThat(shared.checkInbound(reply, 0, reply.length)).isEqualTo(Verdict.ACCEPT);
        PacketFilter fresh = PacketFilter.compile(List.of(), prefixes("100.64.0.1"));
        assertThat(fresh.checkInbound(reply, 0, reply.length)).isEqualTo(Verdict.DROP);
    }

    @Test
    void flowCacheIsBoundedAndForgetsOldest() {
        PacketFilter f = PacketFilter.compile(List.of(), prefixes("100.64.0.1"));
        for (int i = 0; i < 2000; i++) {
            byte[] out = udp("100.64.0.1", "100.64.0.2", 10000 + i, 53);
            f.trackOutbound(out, 0, out.length);
        }
        assertThat(f.trackedFlows()).isEqualTo(512);
        byte[] oldest = udp("100.64.0.2", "100.64.0.1", 53, 10000);
        byte[] newest = udp("100.64.0.2", "100.64.0.1", 53, 10000 + 1999);
        assertThat(f.checkInbound(oldest, 0, oldest.length)).isEqualTo(Verdict.DROP);
        assertThat(f.checkInbound(newest, 0, newest.length)).isEqualTo(Verdict.ACCEPT);
    }

    @Test
    void icmpRepliesAndErrorsPassOtherIcmpNeedsAnyRule() {
        PacketFilter none = PacketFilter.compile(List.of(), prefixes("100.64.0.1", "fd7a:115c:a1e0::1"));
        assertThat(in(none, packet(ICMP4, "100.64.0.2", "100.64.0.1", 0, 0, 0))).isEqualTo(Verdict.ACCEPT); // echo reply
        assertThat(in(none, packet(ICMP4, "100.64.0.2", "100.64.0.1", 3, 0, 0))).isEqualTo(Verdict.ACCEPT); // unreachable
        assertThat(in(none, packet(ICMP4, "100.64.0.2", "100.64.0.1", 8, 0, 0))).isEqualTo(Verdict.DROP); // echo request
        assertThat(in(none, packet(ICMP6, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", 129, 0, 0))).isEqualTo(Verdict.ACCEPT);
        assertThat(in(none, packet(ICMP6, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", 2, 0, 0))).isEqualTo(Verdict.ACCEPT);
        assertThat(in(none, packet(ICMP6, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", 128, 0, 0))).isEqualTo(Verdict.DROP);
        // Any port open from the source, even only TCP, allows pings.
        PacketFilter ssh = PacketFilter.compile(List.of(rule(List.of("100.64.0.2"), List.of("100.64.0.1:22"), TCP)),
                prefixes("100.64.0.1"));
        assertThat(in(ssh, packet(ICMP4, "100.64.0.2", "100.64.0.1", 8, 0, 0))).isEqualTo(Verdict.ACCEPT);
        assertThat(in(ssh, packet(ICMP4, "100.64.0.3", "100.64.0.1", 8, 0, 0))).isEqualTo(Verdict.DROP);
    }

    @Test
    void sourceRangesAndWildcard() {
        PacketFilter f = PacketFilter.compile(List.of(rule(List.of("100.64.0.10-100.64.0.20"), List.of("*:80")),
                rule(List.of("*"), List.of("*:443"))), prefixes("100.64.0.1", "fd7a:115c:a1e0::1"));
        assertThat(in(f, tcpSyn("100.64.0.9", "100.64.0.1", 1, 80))).isEqualTo(Verdict.DROP);
        assertThat(in(f, tcpSyn("100.64.0.10", "100.64.0.1", 1, 80))).isEqualTo(Verdict.ACCEPT);
        assertThat(in(f, tcpSyn("100.64.0.20", "100.64.0.1", 1, 80))).isEqualTo(Verdict.ACCEPT);
        assertThat(in(f, tcpSyn("100.64.0.21", "100.64.0.1", 1, 80))).isEqualTo(Verdict.DROP);
        assertThat(in(f, tcpSyn("fd7a:115c:a1e0::9", "fd7a:115c:a1e0::1", 1, 443))).isEqualTo(Verdict.ACCEPT);
        assertThat(in(f, tcpSyn("fd7a:115c:a1e0::9", "fd7a:115c:a1e0::1", 1, 80))).isEqualTo(Verdict.DROP);
        assertThat(f.problems()).isEmpty();
    }

    @Test
    void badEntriesAreSkippedAndReported() {
        PacketFilter f = PacketFilter.compile(List.of(rule(List.of("bogus", "100.64.0.0/9", "100.64.0.2"),
                List.of("100.64.0.1:22"))), prefixes("100.64.0.1"));
        assertThat(f.problems()).hasSize(2);
        assertThat(in(f, tcpSyn("100.64.0.2", "100.64.0.1", 1, 22))).isEqualTo(Verdict.ACCEPT);
    }

    @Test
    void multicastLinkLocalAndFragments() {
        PacketFilter all = PacketFilter.compile(List.of(rule(List.of("*"), List.of("*:*"))),
                prefixes("0.0.0.0/0", "::/0"));
        assertThat(in(all, udp("100.64.0.2", "224.0.0.251", 5353, 5353))).isEqualTo(Verdict.DROP);
        assertThat(in(all, udp("fe80::1", "ff02::fb", 5353, 5353))).isEqualTo(Verdict.DROP);
        assertThat(in(all, udp("100.64.0.2", "169.254.1.1", 1, 2))).isEqualTo(Verdict.DROP);
        assertThat(in(all, udp("100.64.0.2", "169.254.169.254", 1, 53))).isEqualTo(Verdict.ACCEPT);
        assertThat(in(all, udp("fd00::2", "fe80::1", 1, 2))).isEqualTo(Verdict.DROP);

        PacketFilter none = PacketFilter.compile(List.of(), prefixes("100.64.0.1"));
        byte[] later = udp("100.64.0.2", "100.64.0.1", 1, 2);
        later[6] = 0;
        later[7] = 100; // offset 800 bytes
        assertThat(in(none, later)).isEqualTo(Verdict.ACCEPT);
        later[7] = 5; // offset 40 bytes: could overlap a transport header
        assertThat(in(none, later)).isEqualTo(Verdict.DROP);
        // A first fragment too short for its TCP header.
        byte[] shortFirst = Arrays.copyOf(tcpSyn("100.64.0.2", "100.64.0.1", 1, 22), 30);
        shortFirst[3] = 30;
        shortFirst[6] = 0x20; // more fragments
        assertThat(in(all, shortFirst)).isEqualTo(Verdict.DROP);
    }

    @Test
    void ipv6FirstFragmentIsMatchedOnItsPorts() {
        PacketFilter f = PacketFilter.compile(List.of(rule(List.of("*"), List.of("*:22"))), prefixes("fd7a:115c:a1e0::1"));
        byte[] base = tcpSyn("fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", 1000, 22);
        byte[] p = new byte[base.length + 8];
        System.arraycopy(base, 0, p, 0, 40);
        System.arraycopy(base, 40, p, 48, base.length - 40);
        p[6] = 44;
        p[5] = (byte) (p.length - 40);
        p[40] = TCP;
        p[43] = 1; // offset 0, more fragments
        assertThat(in(f, p)).isEqualTo(Verdict.ACCEPT);
        p[50] = 0;
        p[51] = 23; // dst port 23
        assertThat(in(f, p)).isEqualTo(Verdict.DROP);
    }

    @Test
    void truncatedAndKeepalivePackets() {
        PacketFilter all = PacketFilter.compile(List.of(rule(List.of("*"), List.of("*:*"))), prefixes("0.0.0.0/0"));
        assertThat(all.checkInbound(new byte[0], 0, 0)).isEqualTo(Verdict.ACCEPT);
        byte[] p = udp("100.64.0.2", "100.64.0.1", 1, 2);
        assertThat(all.checkInbound(p, 0, p.length - 1)).isEqualTo(Verdict.DROP); // shorter than the IP length says
        assertThat(all.checkInbound(p, 0, 19)).isEqualTo(Verdict.DROP);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void randomPacketsNeverThrowAndStateStaysBounded(long seed) {
        Random rnd = new Random(seed);
        PacketFilter f = tailscaleTestFilter();
        byte[] buf = new byte[200];
        for (int i = 0; i < 20_000; i++) {
            int len = rnd.nextInt(120);
            int off = rnd.nextInt(buf.length - len + 1);
            rnd.nextBytes(buf);
            // Bias towards plausible headers so the deeper paths run.
            if (len > 0 && rnd.nextBoolean()) buf[off] = (byte) (rnd.nextBoolean() ? 0x45 : 0x60);
            if (len > 5 && rnd.nextBoolean()) {
                buf[off + 2] = 0;
                buf[off + 3] = (byte) len;
                buf[off + 4] = 0;
                buf[off + 5] = (byte) Math.max(0, len - 40);
            }
            f.trackOutbound(buf, off, len);
            assertThat(f.checkInbound(buf, off, len)).isNotNull();
        }
        assertThat(f.trackedFlows()).isLessThanOrEqualTo(512);
    }

    @ParameterizedTest
    @ValueSource(longs = {11, 12, 13})
    void rangesBecomeExactlyCoveringPrefixes(long seed) {
        Random rnd = new Random(seed);
        for (int i = 0; i < 200; i++) {
            long a = rnd.nextLong(1L << 32), b = rnd.nextLong(1L << 32);
            long lo = Math.min(a, b), hi = Math.max(a, b);
            List<IpPrefix> ps = AddrSet.parse(v4(lo) + "-" + v4(hi));
            long covered = 0;
            for (IpPrefix p : ps) {
                long start = Integer.toUnsignedLong(java.nio.ByteBuffer.wrap(p.bytes()).getInt());
                long size = 1L << (32 - p.bits());
                assertThat(start).isBetween(lo, hi);
                assertThat(start + size - 1).isBetween(lo, hi);
                covered += size;
            }
            assertThat(covered).isEqualTo(hi - lo + 1);
        }
    }

    private static String v4(long v) {
        return ((v >>> 24) & 255) + "." + ((v >>> 16) & 255) + "." + ((v >>> 8) & 255) + "." + (v & 255);
    }

    private static Verdict in(PacketFilter f, byte[] p) {
        return f.checkInbound(p, 0, p.length);
    }
}
