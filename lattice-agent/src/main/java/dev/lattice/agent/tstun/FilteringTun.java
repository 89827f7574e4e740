package dev.lattice.agent.tstun;

import dev.lattice.agent.filter.PacketFilter;
import dev.lattice.agent.filter.Verdict;
import dev.lattice.wire.ip.Checksum;
import dev.lattice.wire.ip.VirtioNetHdr;
import dev.lattice.wireguard.tun.TunDevice;
import java.io.IOException;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link TunDevice} that wraps the real one:
 * <ul>
 * <li>{@link #read} (packets the host sends towards the tailnet): UDP queries to 100.100.100.100:53 or
 *     [fd7a:115c:a1e0::53]:53 go to the {@link DnsHandler} and never reach WireGuard; the answer is written back
 *     into the TUN as a UDP packet from the MagicDNS address when it is ready. Everything else is recorded with
 *     {@link PacketFilter#trackOutbound} and returned.
 * <li>{@link #write} (packets from peers): dropped unless {@link PacketFilter#checkInbound} accepts them, or they
 *     open a TCP connection to our peer API ({@link #setPeerApiPorts}: its access rules are checked per request,
 *     as tailscale lets peer API SYNs through its filter). Until a filter is set everything from peers is dropped,
 *     as tailscale does.
 * </ul>
 * With a {@code vnetHdr()} inner TUN every packet carries the 10-byte virtio header; the filter looks at the IP
 * header after it (for a GSO super-packet that header describes the whole flow) and replies go out with an
 * all-zero header (checksums complete, no offload). TCP to port 53 of the MagicDNS address is not answered
 * (tailscale serves it through its netstack); such packets are passed on like any other.
 */
public final class FilteringTun implements TunDevice {
    private static final Logger log = LoggerFactory.getLogger(FilteringTun.class);
    static final byte[] MAGIC_DNS_V4 = {100, 100, 100, 100};
    static final byte[] MAGIC_DNS_V6 = {(byte) 0xfd, 0x7a, 0x11, 0x5c, (byte) 0xa1, (byte) 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53};
    /** Queries answered concurrently at most; more are dropped and the resolver retries. */
    static final int MAX_IN_FLIGHT = 256;
    private static final int MAX_UDP_PAYLOAD = 65_535 - 40 - 8;

    private final TunDevice inner;
    private final int vnet;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong droppedInbound = new AtomicLong();
    private final AtomicLong dnsQueries = new AtomicLong();
    private volatile PacketFilter filter;
    private volatile DnsHandler dns;
    /** Our peer API listeners as (address, port) pairs; empty when none. */
    private volatile PeerApiPort[] peerApi = new PeerApiPort[0];

    private record PeerApiPort(byte[] addr, int port) {}

    public FilteringTun(TunDevice inner) {
        this.inner = inner;
        this.vnet = inner.vnetHdr() ? VirtioNetHdr.SIZE : 0;
    }

    /** The filter for packets from peers (and the flow table for ours); null drops everything from peers. */
    public void setFilter(PacketFilter filter) {
        this.filter = filter;
    }

    /** Who answers MagicDNS queries; null lets them through to WireGuard (where nothing answers). */
    public void setDns(DnsHandler dns) {
        this.dns = dns;
    }

    /** The peer API's listeners: TCP SYNs to these pass whatever the filter says (tailscale's wrap.go does the same). */
    public void setPeerApiPorts(Map<InetAddress, Integer> ports) {
        PeerApiPort[] a = new PeerApiPort[ports.size()];
        int i = 0;
        for (Map.Entry<InetAddress, Integer> e : ports.entrySet()) a[i++] = new PeerApiPort(e.getKey().getAddress(), e.getValue());
        peerApi = a;
    }

    /** Packets from peers the filter dropped so far. */
    public long droppedInbound() {
        return droppedInbound.get();
    }

    /** MagicDNS queries intercepted so far. */
    public long dnsQueries() {
        return dnsQueries.get();
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public int mtu() throws IOException {
        return inner.mtu();
    }

    @Override
    public boolean vnetHdr() {
        return inner.vnetHdr();
    }

    @Override
    public int read(byte[] buf, int off, int max, int timeoutMillis) throws IOException {
        int n = inner.read(buf, off, max, timeoutMillis);
        if (n <= vnet) return n;
        int p = off + vnet, len = n - vnet;
        DnsHandler d = dns;
        if (d != null && interceptDns(d, buf, p, len)) return 0; // consumed: the caller polls again
        PacketFilter f = filter;
        if (f != null) f.trackOutbound(buf, p, len);
        return n;
    }

    @Override
    public void write(byte[] buf, int off, int len) throws IOException {
        if (len <= vnet) return;
        PacketFilter f = filter;
        if (f == null || f.checkInbound(buf, off + vnet, len - vnet) != Verdict.ACCEPT && !toPeerApi(buf, off + vnet, len - vnet)) {
            droppedInbound.incrementAndGet();
            return;
        }
        writeLock.lock();
        try {
            inner.write(buf, off, len);
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void close() {
        inner.close();
    }

    /** Whether the packet is a TCP SYN to one of our peer API listeners (IPv4, or IPv6 without extension headers). */
    private boolean toPeerApi(byte[] b, int off, int len) {
        PeerApiPort[] ports = peerApi;
        if (ports.length == 0 || len < 20) return false;
        int version = (b[off] & 0xff) >>> 4;
        int tcp, dst, alen;
        if (version == 4) {
            int ihl = (b[off] & 0x0f) * 4;
            if (b[off + 9] != 6 || ihl < 20 || (u16(b, off + 6) & 0x1fff) != 0) return false;
            tcp = off + ihl;
            dst = off + 16;
            alen = 4;
        } else if (version == 6) {
            if (len < 40 || b[off + 6] != 6) return false;
            tcp = off + 40;
            dst = off + 24;
            alen = 16;
        } else {
            return false;
        }
        if (tcp + 14 > off + len || (b[tcp + 13] & 0x02) == 0) return false;
        int port = u16(b, tcp + 2);
        for (PeerApiPort p : ports) {
            if (p.port() == port && p.addr().length == alen && Arrays.equals(b, dst, dst + alen, p.addr(), 0, alen)) return true;
        }
        return false;
    }

    /** True when {@code pkt} was a UDP query to MagicDNS port 53 (answered later, or dropped). */
    private boolean interceptDns(DnsHandler d, byte[] b, int off, int len) {
        int version = (b[off] & 0xff) >>> 4;
        int ipHdr, udp, total;
        if (version == 4) {
            if (len < 28) return false;
            ipHdr = (b[off] & 0x0f) * 4;
            if (b[off + 9] != 17 || !Arrays.equals(b, off + 16, off + 20, MAGIC_DNS_V4, 0, 4)) return false;
            if ((u16(b, off + 6) & 0x3fff) != 0) return false; // fragmented: not for us to reassemble
            total = u16(b, off + 2);
        } else if (version == 6) {
            if (len < 48) return false;
            ipHdr = 40;
            if (b[off + 6] != 17 || !Arrays.equals(b, off + 24, off + 40, MAGIC_DNS_V6, 0, 16)) return false;
            total = 40 + u16(b, off + 4);
        } else {
            return false;
        }
        udp = off + ipHdr;
        if (ipHdr < 20 || total > len || ipHdr + 8 > total || u16(b, udp + 2) != 53) return false;
        int udpLen = u16(b, udp + 4);
        if (udpLen < 8 || ipHdr + udpLen > total) return true; // malformed query to MagicDNS: drop it
        dnsQueries.incrementAndGet();
        if (inFlight.incrementAndGet() > MAX_IN_FLIGHT) {
            inFlight.decrementAndGet();
            return true;
        }
        // Keep what the reply needs: the client's address and port, and the query.
        byte[] client = Arrays.copyOfRange(b, off + (version == 4 ? 12 : 8), off + (version == 4 ? 16 : 24));
        int clientPort = u16(b, udp);
        byte[] query = Arrays.copyOfRange(b, udp + 8, udp + udpLen);
        try {
            d.handle(query).whenComplete((resp, err) -> {
                inFlight.decrementAndGet();
                if (err != null || resp == null) return;
                try {
                    injectReply(version, client, clientPort, resp);
                } catch (IOException | RuntimeException e) {
                    log.debug("MagicDNS reply not written: {}", e.toString());
                }
            });
        } catch (RuntimeException e) {
            inFlight.decrementAndGet();
            log.debug("MagicDNS handler failed: {}", e.toString());
        }
        return true;
    }

    private void injectReply(int version, byte[] client, int clientPort, byte[] payload) throws IOException {
        if (payload.length > MAX_UDP_PAYLOAD) return;
        byte[] pkt = udpPacket(version, version == 4 ? MAGIC_DNS_V4 : MAGIC_DNS_V6, 53, client, clientPort, payload, vnet);
        writeLock.lock();
        try {
            inner.write(pkt, 0, pkt.length);
        } finally {
            writeLock.unlock();
        }
    }

    /** An IPv4 or IPv6 UDP packet with correct checksums, after {@code headroom} zero bytes. */
    static byte[] udpPacket(int version, byte[] src, int sport, byte[] dst, int dport, byte[] payload, int headroom) {
        int ipHdr = version == 4 ? 20 : 40;
        int udpLen = 8 + payload.length;
        byte[] out = new byte[headroom + ipHdr + udpLen];
        int o = headroom;
        if (version == 4) {
            out[o] = 0x45;
            put16(out, o + 2, ipHdr + udpLen);
            out[o + 6] = 0x40; // don't fragment
            out[o + 8] = 64;
            out[o + 9] = 17;
            System.arraycopy(src, 0, out, o + 12, 4);
            System.arraycopy(dst, 0, out, o + 16, 4);
            put16(out, o + 10, Checksum.finish(Checksum.sum(out, o, 20, 0)));
        } else {
            out[o] = 0x60;
            put16(out, o + 4, udpLen);
            out[o + 6] = 17;
            out[o + 7] = 64;
            System.arraycopy(src, 0, out, o + 8, 16);
            System.arraycopy(dst, 0, out, o + 24, 16);
        }
        int u = o + ipHdr;
        put16(out, u, sport);
        put16(out, u + 2, dport);
        put16(out, u + 4, udpLen);
        System.arraycopy(payload, 0, out, u + 8, payload.length);
        long sum = Checksum.pseudoHeader(out, o, version, 17, udpLen);
        int c = Checksum.finish(Checksum.sum(out, u, udpLen, sum));
        put16(out, u + 6, c == 0 ? 0xffff : c); // 0 means "no checksum" in UDP
        return out;
    }

    private static int u16(byte[] b, int off) {
        return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff);
    }

    private static void put16(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
    }
}
