package dev.lattice.agent.netcheck;

import dev.lattice.agent.ipn.NetcheckReport;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.stun.Stun;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DERPNode;
import dev.lattice.wire.tailcfg.DERPRegion;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A network check as tailscale's {@code net/netcheck}: STUN binding requests to every region's STUN node(s), giving
 * per-region latency (STUN round trip), our public address per family, whether the NAT maps differently per
 * destination, and the preferred (lowest-latency) DERP region. Regions no STUN answer came from are timed over
 * HTTP(S) {@code /derp/latency-check} instead.
 *
 * <p>The STUN requests go out through a {@link StunSender} so the magic socket can send them on the WireGuard
 * socket (the mapping STUN sees is then the one peers must use); it hands replies back with {@link #receive}.
 * {@link #standalone} runs one check on a socket of its own, for {@code lattice netcheck}.
 */
public final class Netcheck {
    /** Sends one datagram; false if it could not be sent. */
    @FunctionalInterface
    public interface StunSender {
        boolean send(byte[] packet, InetSocketAddress to);
    }

    /** STUN attempts per node and the gap between them (UDP drops packets). */
    static final int ATTEMPTS = 3;
    static final long ATTEMPT_GAP_MILLIS = 100;

    private final StunSender sender;
    private final LongSupplier nanos;
    private final boolean derpHttp;
    private final Map<Stun.TxId, Probe> inflight = new ConcurrentHashMap<>();

    private record Probe(int region, InetSocketAddress dst, long sentNanos, Run run) {}

    /** One check's results, filled in by replies. */
    private static final class Run {
        final Map<Integer, Long> latency = new HashMap<>();
        final Map<Integer, Long> latencyV4 = new HashMap<>();
        final Map<InetAddress, InetSocketAddress> mappedByServer = new HashMap<>();
        InetSocketAddress globalV4, globalV6;
        final Set<Integer> answeredRegions = ConcurrentHashMap.newKeySet();
        CountDownLatch allRegions;
    }

    /** {@code derpHttp}: time DERP over plain HTTP (as TS_DEBUG_USE_DERP_HTTP), else HTTPS. */
    public Netcheck(StunSender sender, LongSupplier nanos, boolean derpHttp) {
        this.sender = sender;
        this.nanos = nanos;
        this.derpHttp = derpHttp;
    }

    /**
     * A datagram that may be a STUN reply to one of our probes; true if it was one (consumed). Never throws on
     * bad input.
     */
    public boolean receive(byte[] buf, int off, int len) {
        if (buf == null || off < 0 || len < Stun.HEADER_LEN || off + len > buf.length) return false;
        byte[] b = off == 0 ? buf : java.util.Arrays.copyOfRange(buf, off, off + len);
        Stun.BindingResponse r;
        try {
            if (!Stun.is(b, len)) return false;
            r = Stun.parseResponse(b, len);
        } catch (RuntimeException e) { // StunException and anything odd in untrusted bytes
            return false;
        }
        Probe p = inflight.remove(r.txId());
        if (p == null) return false;
        long rtt = nanos.getAsLong() - p.sentNanos;
        Run run = p.run;
        synchronized (run) {
            run.latency.merge(p.region, rtt, Math::min);
            InetAddress mappedIp = r.mapped().getAddress();
            if (mappedIp instanceof Inet4Address) {
                run.latencyV4.merge(p.region, rtt, Math::min);
                if (run.globalV4 == null) run.globalV4 = r.mapped();
            } else if (run.globalV6 == null) {
                run.globalV6 = r.mapped();
            }
            run.mappedByServer.putIfAbsent(p.dst.getAddress(), r.mapped());
        }
        if (run.answeredRegions.add(p.region) && run.allRegions != null) run.allRegions.countDown();
        return true;
    }

    /** Runs a full check (blocks up to about {@code timeout}, plus HTTP fallbacks); call it off the packet path. */
    public NetcheckReport run(DERPMap map, Duration timeout) {
        Run run = new Run();
        List<DERPRegion> regions = measurable(map);
        Map<Integer, List<InetSocketAddress>> targets = new TreeMap<>();
        for (DERPRegion r : regions) {
            List<InetSocketAddress> t = new ArrayList<>();
            for (DERPNode n : r.nodes() == null ? List.<DERPNode>of() : r.nodes()) {
                int port = n.stunPort() == null || n.stunPort() == 0 ? 3478 : n.stunPort();
                if (port < 0 || port > 65535) continue;
                InetAddress ip = stunAddress(n);
                if (ip != null) t.add(new InetSocketAddress(ip, port));
            }
            if (!t.isEmpty()) targets.put(r.regionId(), t);
        }
        run.allRegions = new CountDownLatch(targets.size());
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean udpSent = false;
        try {
            for (int attempt = 0; attempt < ATTEMPTS && run.allRegions.getCount() > 0; attempt++) {
                for (Map.Entry<Integer, List<InetSocketAddress>> e : targets.entrySet()) {
                    if (run.answeredRegions.contains(e.getKey())) continue;
                    for (InetSocketAddress dst : e.getValue()) {
                        Stun.TxId tx = Stun.TxId.random();
                        inflight.put(tx, new Probe(e.getKey(), dst, nanos.getAsLong(), run));
                        udpSent |= sender.send(Stun.request(tx), dst);
                    }
                }
                run.allRegions.await(ATTEMPT_GAP_MILLIS, TimeUnit.MILLISECONDS);
            }
            long left = deadline - System.nanoTime();
            if (left > 0) run.allRegions.await(left, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            inflight.values().removeIf(p -> p.run == run);
        }
        Map<Integer, Double> latency = new TreeMap<>();
        Map<Integer, Double> latencyV4 = new TreeMap<>();
        InetSocketAddress v4, v6;
        Boolean varies;
        synchronized (run) {
            run.latency.forEach((k, v) -> latency.put(k, v / 1e9));
            run.latencyV4.forEach((k, v) -> latencyV4.put(k, v / 1e9));
            v4 = run.globalV4;
            v6 = run.globalV6;
            varies = mappingVaries(run.mappedByServer);
        }
        boolean udp = !latency.isEmpty();
        for (DERPRegion r : regions) {
            if (latency.containsKey(r.regionId())) continue;
            Double d = httpLatency(r);
            if (d != null) latency.put(r.regionId(), d);
        }
        int preferred = 0;
        double bestLat = Double.MAX_VALUE;
        for (Map.Entry<Integer, Double> e : latency.entrySet()) {
            if (e.getValue() < bestLat) {
                bestLat = e.getValue();
                preferred = e.getKey();
            }
        }
        return new NetcheckReport(udp && udpSent, v4 != null, v6 != null, v4 == null ? "" : format(v4),
                v6 == null ? "" : format(v6), varies, preferred, latency, latencyV4);
    }

    /**
     * Two STUN servers at different IPs that saw different mapped addresses for the same socket: an
     * endpoint-dependent ("hard") NAT. Null when fewer than two servers answered.
     */
    static Boolean mappingVaries(Map<InetAddress, InetSocketAddress> mappedByServer) {
        Map<Boolean, InetSocketAddress> firstByFamily = new HashMap<>();
        boolean compared = false;
        for (Map.Entry<InetAddress, InetSocketAddress> e : mappedByServer.entrySet()) {
            boolean v4 = e.getValue().getAddress() instanceof Inet4Address;
            InetSocketAddress first = firstByFamily.putIfAbsent(v4, e.getValue());
            if (first == null) continue;
            compared = true;
            if (!first.equals(e.getValue())) return true;
        }
        return compared ? Boolean.FALSE : null;
    }

    private static List<DERPRegion> measurable(DERPMap map) {
        List<DERPRegion> out = new ArrayList<>();
        if (map == null || map.regions() == null) return out;
        for (DERPRegion r : map.regions().values()) {
            if (r == null || r.regionId() == null) continue;
            if (Boolean.TRUE.equals(r.noMeasureNoHome()) || Boolean.TRUE.equals(r.avoid())) continue;
            out.add(r);
        }
        return out;
    }

    /** The node's IPv4 (or, failing that, IPv6) address, else its host name resolved; null if none. */
    static InetAddress stunAddress(DERPNode n) {
        for (String s : new String[] {n.stunTestIp(), n.ipv4(), n.ipv6()}) {
            if (s == null || s.isEmpty() || "none".equals(s)) continue;
            try {
                return IpPrefix.parseAddress(s);
            } catch (IllegalArgumentException e) {
                // try the next form
            }
        }
        if (n.hostName() == null || n.hostName().isEmpty()) return null;
        try {
            return InetAddress.getByName(n.hostName());
        } catch (IOException e) {
            return null;
        }
    }

    /** Seconds for a GET of /derp/latency-check on the region's first DERP node; null if it fails. */
    private Double httpLatency(DERPRegion r) {
        if (r.nodes() == null) return null;
        for (DERPNode n : r.nodes()) {
            if (Boolean.TRUE.equals(n.stunOnly()) || n.hostName() == null) continue;
            int port = n.derpPort() == null || n.derpPort() == 0 ? (derpHttp ? 80 : 443) : n.derpPort();
            URI u = URI.create((derpHttp ? "http" : "https") + "://" + hostForUri(n.hostName()) + ":" + port + "/derp/latency-check");
            try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
                long t0 = nanos.getAsLong();
                HttpResponse<Void> resp = http.send(HttpRequest.newBuilder(u).timeout(Duration.ofSeconds(3)).GET().build(),
                        HttpResponse.BodyHandlers.discarding());
                if (resp.statusCode() / 100 == 2) return (nanos.getAsLong() - t0) / 1e9;
            } catch (IOException | RuntimeException e) {
                // try the next node
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    private static String hostForUri(String h) {
        return h.indexOf(':') >= 0 && !h.startsWith("[") ? "[" + h + "]" : h;
    }

    static String format(InetSocketAddress a) {
        String host = IpPrefix.format(a.getAddress());
        return (a.getAddress() instanceof Inet6Address ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /** One check from a fresh UDP socket of its own (for the CLI, or before the magic socket is up). */
    public static NetcheckReport standalone(DERPMap map, Duration timeout, boolean derpHttp) throws IOException {
        try (DatagramChannel ch = DatagramChannel.open()) {
            ch.bind(new InetSocketAddress(0));
            ch.configureBlocking(true);
            Netcheck nc = new Netcheck((p, to) -> {
                try {
                    return ch.send(ByteBuffer.wrap(p), to) > 0;
                } catch (IOException e) {
                    return false;
                }
            }, System::nanoTime, derpHttp);
            Thread reader = Thread.ofPlatform().daemon(true).name("netcheck-reader").start(() -> {
                ByteBuffer buf = ByteBuffer.allocate(2048);
                while (ch.isOpen()) {
                    try {
                        buf.clear();
                        ch.receive(buf);
                        nc.receive(buf.array(), 0, buf.position());
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            try {
                return nc.run(map, timeout);
            } finally {
                ch.close();
                reader.interrupt();
            }
        }
    }
}
