package dev.lattice.agent.tstun;

import dev.lattice.agent.testing.MemoryTun;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.filter.PacketFilter;
import dev.lattice.agent.filter.TestPackets;
import dev.lattice.wire.ip.Checksum;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.NetPortRange;
import dev.lattice.wire.tailcfg.PortRange;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FilteringTunTest {
    static final String SELF4 = "100.64.0.1", PEER4 = "100.64.0.2", SELF6 = "fd7a:115c:a1e0::1", PEER6 = "fd7a:115c:a1e0::2";

    static PacketFilter sshOnly() {
        FilterRule r = new FilterRule(List.of("*"), null, List.of(new NetPortRange("*", null, new PortRange(22, 22))), null, null);
        return PacketFilter.compile(List.of(r), List.of(IpPrefix.parse(SELF4), IpPrefix.parse(SELF6)));
    }

    static byte[] withVnet(boolean vnet, byte[] p) {
        if (!vnet) return p;
        byte[] out = new byte[p.length + 10];
        System.arraycopy(p, 0, out, 10, p.length);
        return out;
    }

    static byte[] stripVnet(boolean vnet, byte[] p) {
        if (vnet) assertThat(Arrays.copyOf(p, 10)).as("virtio header of an injected packet").containsOnly(0);
        return vnet ? Arrays.copyOfRange(p, 10, p.length) : p;
    }

    /** A UDP query packet from the host to MagicDNS with a valid checksum. */
    static byte[] query(int version, byte[] payload) {
        byte[] src = IpPrefix.parseAddress(version == 4 ? SELF4 : SELF6).getAddress();
        byte[] dst = version == 4 ? FilteringTun.MAGIC_DNS_V4 : FilteringTun.MAGIC_DNS_V6;
        return FilteringTun.udpPacket(version, src, 45678, dst, 53, payload, 0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"4", "6", "4vnet", "6vnet"})
    void dnsQueriesAreAnsweredIntoTheTunNotPassedOn(String mode) throws Exception {
        int version = mode.charAt(0) - '0';
        boolean vnet = mode.endsWith("vnet");
        MemoryTun inner = new MemoryTun("mem0", vnet);
        FilteringTun tun = new FilteringTun(inner);
        tun.setFilter(sshOnly());
        AtomicReference<byte[]> seen = new AtomicReference<>();
        CompletableFuture<byte[]> later = new CompletableFuture<>();
        tun.setDns(q -> {
            seen.set(q);
            return later;
        });
        byte[] payload = "query-bytes".getBytes(StandardCharsets.US_ASCII);
        inner.fromHost.add(withVnet(vnet, query(version, payload)));
        byte[] buf = new byte[2000];
        assertThat(tun.read(buf, 0, buf.length, 100)).isZero();
        assertThat(seen.get()).isEqualTo(payload);
        assertThat(inner.toHost).isEmpty(); // the answer is not ready yet

        byte[] answer = "answer-bytes-odd".getBytes(StandardCharsets.US_ASCII);
        later.complete(answer);
        byte[] reply = stripVnet(vnet, inner.toHost.poll(5, TimeUnit.SECONDS));
        int ipHdr = version == 4 ? 20 : 40;
        assertThat(reply).hasSize(ipHdr + 8 + answer.length);
        assertThat(reply[0] >>> 4).isEqualTo(version);
        if (version == 4) {
            assertThat(Arrays.copyOfRange(reply, 12, 16)).isEqualTo(FilteringTun.MAGIC_DNS_V4);
            assertThat(Arrays.copyOfRange(reply, 16, 20)).isEqualTo(IpPrefix.parseAddress(SELF4).getAddress());
            assertThat(Checksum.finish(Checksum.sum(reply, 0, 20, 0))).as("IPv4 header checksum").isZero();
        } else {
            assertThat(Arrays.copyOfRange(reply, 8, 24)).isEqualTo(FilteringTun.MAGIC_DNS_V6);
            assertThat(Arrays.copyOfRange(reply, 24, 40)).isEqualTo(IpPrefix.parseAddress(SELF6).getAddress());
        }
        assertThat(((reply[ipHdr] & 0xff) << 8) | (reply[ipHdr + 1] & 0xff)).isEqualTo(53);
        assertThat(((reply[ipHdr + 2] & 0xff) << 8) | (reply[ipHdr + 3] & 0xff)).isEqualTo(45678);
        int udpLen = reply.length - ipHdr;
        long pseudo = Checksum.pseudoHeader(reply, 0, version, 17, udpLen);
        assertThat(Checksum.finish(Checksum.sum(reply, ipHdr, udpLen, pseudo))).as("UDP checksum").isZero();
        assertThat(Arrays.copyOfRange(reply, ipHdr + 8, reply.length)).isEqualTo(answer);
        assertThat(tun.dnsQueries()).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void outboundFlowsLetRepliesInAndTheFilterDropsTheRest(boolean vnet) throws Exception {
        MemoryTun inner = new MemoryTun("mem0", vnet);
        FilteringTun tun = new FilteringTun(inner);
        byte[] ssh = withVnet(vnet, TestPackets.tcpSyn(PEER4, SELF4, 5000, 22));
        tun.write(ssh, 0, ssh.length);
        assertThat(inner.toHost).as("no filter yet: everything from peers is dropped").isEmpty();

        tun.setFilter(sshOnly());
        tun.setDns(q -> CompletableFuture.completedFuture(q));
        tun.write(ssh, 0, ssh.length);
        assertThat(inner.toHost.poll()).isEqualTo(ssh);
        byte[] http = withVnet(vnet, TestPackets.tcpSyn(PEER4, SELF4, 5000, 80));
        tun.write(http, 0, http.length);
        assertThat(inner.toHost).isEmpty();

        byte[] reply = withVnet(vnet, TestPackets.udp(PEER6, SELF6, 53, 4444));
        tun.write(reply, 0, reply.length);
        assertThat(inner.toHost).isEmpty();
        // The host sends a UDP datagram to the peer: it is returned to WireGuard unchanged, and its reply passes.
        byte[] out = withVnet(vnet, TestPackets.udp(SELF6, PEER6, 4444, 53));
        inner.fromHost.add(out);
        byte[] buf = new byte[3000];
        int n = tun.read(buf, 7, buf.length - 7, 100);
        assertThat(Arrays.copyOfRange(buf, 7, 7 + n)).isEqualTo(out);
        tun.write(reply, 0, reply.length);
        assertThat(inner.toHost.poll()).isEqualTo(reply);
        assertThat(tun.droppedInbound()).isEqualTo(3);
        assertThat(tun.dnsQueries()).isZero();
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4})
    void randomPacketsNeverThrow(long seed) throws Exception {
        Random rnd = new Random(seed);
        for (boolean vnet : new boolean[] {false, true}) {
            MemoryTun inner = new MemoryTun("mem0", vnet);
            FilteringTun tun = new FilteringTun(inner);
            tun.setFilter(sshOnly());
            tun.setDns(q -> CompletableFuture.completedFuture(q.length % 2 == 0 ? q : null));
            byte[] buf = new byte[1600];
            for (int i = 0; i < 5000; i++) {
                byte[] p;
                if (rnd.nextInt(4) == 0) {
                    p = query(rnd.nextBoolean() ? 4 : 6, new byte[rnd.nextInt(100)]);
                    p = Arrays.copyOf(p, Math.max(1, p.length - rnd.nextInt(3) * rnd.nextInt(30))); // sometimes cut short
                    if (rnd.nextInt(3) == 0) p[rnd.nextInt(p.length)] ^= (byte) (1 << rnd.nextInt(8));
                } else {
                    p = new byte[1 + rnd.nextInt(200)];
                    rnd.nextBytes(p);
                }
                p = withVnet(vnet, p);
                inner.fromHost.add(p);
                tun.read(buf, 0, buf.length, 10);
                tun.write(p, 0, p.length);
            }
            assertThat(inner.fromHost).isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"4", "6", "4vnet", "6vnet"})
    void peerApiConnectionsPassTheFilterOtherPortsDoNot(String mode) throws Exception {
        boolean v4 = mode.charAt(0) == '4', vnet = mode.endsWith("vnet");
        String self = v4 ? SELF4 : SELF6, peer = v4 ? PEER4 : PEER6, other = v4 ? "100.64.0.9" : "fd7a:115c:a1e0::9";
        MemoryTun inner = new MemoryTun("mem0", vnet);
        FilteringTun tun = new FilteringTun(inner);
        tun.setFilter(sshOnly());
        byte[] syn = withVnet(vnet, TestPackets.tcpSyn(peer, self, 40000, 44444));
        tun.write(syn, 0, syn.length);
        assertThat(inner.toHost).as("the filter allows only port 22").isEmpty();

        tun.setPeerApiPorts(java.util.Map.of(IpPrefix.parseAddress(self), 44444));
        tun.write(syn, 0, syn.length);
        assertThat(inner.toHost).as("a SYN to our peer API").hasSize(1);
        inner.toHost.clear();
        for (byte[] p : List.of(TestPackets.tcpSyn(peer, self, 40000, 44445), // another port
                TestPackets.tcpSyn(peer, other, 40000, 44444), // another address (not ours)
                TestPackets.udp(peer, self, 40000, 44444))) { // not TCP
            byte[] w = withVnet(vnet, p);
            tun.write(w, 0, w.length);
        }
        assertThat(inner.toHost).isEmpty();
        tun.setPeerApiPorts(java.util.Map.of());
        tun.write(syn, 0, syn.length);
        assertThat(inner.toHost).as("listeners closed").isEmpty();
        tun.setFilter(null);
        tun.setPeerApiPorts(java.util.Map.of(IpPrefix.parseAddress(self), 44444));
        tun.write(syn, 0, syn.length);
        assertThat(inner.toHost).as("no filter yet: everything from peers is dropped, as tailscale does").isEmpty();
    }
}
