package dev.lattice.agent.magicsock;

import dev.lattice.agent.ipn.NetcheckReport;
import dev.lattice.agent.ipn.PingResult;
import dev.lattice.agent.netcheck.Netcheck;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.derp.client.DerpClient;
import dev.lattice.derp.client.DerpClientListener;
import dev.lattice.derp.client.DerpClientOptions;
import dev.lattice.wire.disco.Disco;
import dev.lattice.wire.disco.DiscoException;
import dev.lattice.wire.disco.DiscoMessage;
import dev.lattice.wire.disco.TxId;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DERPNode;
import dev.lattice.wire.tailcfg.DERPRegion;
import dev.lattice.wire.tailcfg.EndpointType;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.conn.PathSelector;
import dev.lattice.wireguard.conn.UdpTransport;
import dev.lattice.wireguard.device.Clock;
import dev.lattice.wireguard.device.Device;
import io.netty.channel.EventLoopGroup;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tailscale's magic socket on top of the WireGuard device's {@link PathSelector} hook. Every peer (by node key)
 * has a {@link PeerEndpoint}; WireGuard datagrams go to the peer's trusted direct UDP address when a disco pong has
 * proven one within the last 6.5 s, otherwise over DERP to the peer's home region. While there is no trusted path
 * and traffic flows, it pings every candidate address every 5 s and sends a CallMeMaybe over DERP so the peer pings
 * back (hole punching); a trusted path gets heartbeat pings every 3 s. Pongs that stop make the path fall back to
 * DERP; pongs that return upgrade it again.
 *
 * <p>Our own endpoints (local interface addresses with the socket's port, plus the STUN-mapped address) are found by
 * a netcheck over the device's own UDP socket every 20-26 s and on {@link #rebind}, which also picks the home DERP
 * region. The {@link Listener} hears about changes (the control client posts them).
 *
 * <p>Threads: the PathSelector methods run on the device's packet threads and DERP receive on a Netty event loop;
 * they never block. Timers run on one scheduler thread; netchecks on another (they wait for STUN replies).
 */
public final class MagicSock implements PathSelector, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MagicSock.class);

    /** Told about our endpoints and home DERP region; called on the magic socket's threads, must not block long. */
    public interface Listener {
        default void endpointsChanged(List<DiscoveredEndpoint> endpoints) {}

        default void homeDerpChanged(int regionId) {}
    }

    /**
     * Tunables. {@code derpHttp}: reach DERP over plain HTTP (tailscale's TS_DEBUG_USE_DERP_HTTP; for tests and
     * self-hosted regions without TLS). {@code includeLoopback}: also report loopback interface addresses as
     * endpoints (single-host tests). {@code derpIdle}: non-home DERP connections are closed after this long unused.
     */
    public record Options(boolean derpHttp, boolean includeLoopback, Duration netcheckTimeout, Duration derpIdle,
                          java.util.function.Consumer<io.netty.bootstrap.Bootstrap> derpDialer) {
        public Options {
            if (derpDialer == null) derpDialer = b -> {};
        }

        public static Options defaults() {
            return new Options(false, false, Duration.ofSeconds(3), Duration.ofSeconds(60), null);
        }

        public Options withDerpHttp(boolean v) {
            return new Options(v, includeLoopback, netcheckTimeout, derpIdle, derpDialer);
        }

        public Options withIncludeLoopback(boolean v) {
            return new Options(derpHttp, v, netcheckTimeout, derpIdle, derpDialer);
        }

        /** Applied to each DERP connection's bootstrap (the event loop group's channel type, the bypass mark). */
        public Options withDerpDialer(java.util.function.Consumer<io.netty.bootstrap.Bootstrap> d) {
            return new Options(derpHttp, includeLoopback, netcheckTimeout, derpIdle, d);
        }
    }

    /** Counters for status and tests. */
    public static final class Stats {
        public final LongAdder derpSent = new LongAdder();
        public final LongAdder derpReceived = new LongAdder();
        public final LongAdder discoReceived = new LongAdder();
        public final LongAdder discoUnknownSender = new LongAdder();
        public final LongAdder discoBad = new LongAdder();
        public final LongAdder pingsSent = new LongAdder();
        public final LongAdder pongsReceived = new LongAdder();
        public final LongAdder callMeMaybeReceived = new LongAdder();
        /** WireGuard packets (not disco) relayed through DERP, and their bytes. */
        public final LongAdder derpDataSentPackets = new LongAdder();
        public final LongAdder derpDataSentBytes = new LongAdder();
        public final LongAdder derpDataReceivedPackets = new LongAdder();
        public final LongAdder derpDataReceivedBytes = new LongAdder();
    }

    /** A pending disco ping: where it went (UDP endpoint, or {@code derpRegion} when relayed). */
    private record Pending(PeerEndpoint peer, Endpoint to, int derpRegion, long sentNanos,
                           CompletableFuture<PingResult> user) {}

    /** The source address tailscale shows for disco over DERP: 127.3.3.40:region. */
    static final InetAddress DERP_MAGIC_IP = IpPrefix.parseAddress(Tailcfg.DERP_MAGIC_IP);
    static final long PING_TIMEOUT_NANOS = 5_000_000_000L;

    public final Stats stats = new Stats();
    /** A peer we sent to this recently gets pinged as soon as control tells us new endpoints for it. */
    private static final long ACTIVE_NANOS_FOR_REPUNCH = 10_000_000_000L;
    private volatile boolean derpHttp;

    private final Device device;
    private final NodePrivateKey nodeKey;
    private final NodePublicKey nodePublic;
    private final DiscoPrivateKey discoKey;
    private final DiscoPublicKey discoPublic;
    private final EventLoopGroup group;
    private final Listener listener;
    private final Options options;
    private final Clock clock;
    private final Netcheck netcheck;

    private final Map<NodePublicKey, PeerEndpoint> peers = new ConcurrentHashMap<>();
    private final Map<DiscoPublicKey, PeerEndpoint> byDisco = new ConcurrentHashMap<>();
    private final Map<TxId, Pending> pending = new ConcurrentHashMap<>();
    private final Map<Integer, DerpConn> derps = new ConcurrentHashMap<>();

    private final ScheduledExecutorService timers;
    private final ExecutorService netcheckRunner;
    private final AtomicBoolean netcheckQueued = new AtomicBoolean();
    private volatile DERPMap derpMap;
    private volatile int homeDerp;
    private volatile NetcheckReport lastReport;
    private volatile List<DiscoveredEndpoint> endpoints = List.of();
    private volatile boolean closed;

    private final class DerpConn {
        final int region;
        /** Which of the region's dialable nodes (0 = the first) this connection goes to. */
        final int node;
        final DerpClient client;
        volatile long lastUsed;
        /** Failed attempts since the last success: at {@link #DERP_NODE_FAILURES} the next node is tried. */
        final java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();

        DerpConn(int region, int node, DerpClient client) {
            this.region = region;
            this.node = node;
            this.client = client;
        }
    }

    /** Failed attempts on one node of a region before the next is tried (tailscale's derphttp tries them in order). */
    static final int DERP_NODE_FAILURES = 2;

    public MagicSock(Device device, NodePrivateKey nodeKey, DiscoPrivateKey discoKey, EventLoopGroup group,
                     Listener listener) {
        this(device, nodeKey, discoKey, group, listener, Options.defaults(), Clock.SYSTEM);
    }

    public MagicSock(Device device, NodePrivateKey nodeKey, DiscoPrivateKey discoKey, EventLoopGroup group,
                     Listener listener, Options options, Clock clock) {
        this.device = Objects.requireNonNull(device, "device");
        this.nodeKey = Objects.requireNonNull(nodeKey, "nodeKey");
        this.nodePublic = nodeKey.publicKey();
        this.discoKey = Objects.requireNonNull(discoKey, "discoKey");
        this.discoPublic = discoKey.publicKey();
        this.group = Objects.requireNonNull(group, "group");
        this.listener = listener == null ? new Listener() {} : listener;
        this.options = options;
        this.derpHttp = options.derpHttp();
        this.clock = clock;
        this.netcheck = new Netcheck((p, to) -> {
            UdpTransport u = device.transport();
            return u != null && u.send(p, 0, p.length, Endpoint.of(to));
        }, clock::nanoTime, options.derpHttp());
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon(true).name("magicsock").unstarted(r));
        this.netcheckRunner = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon(true).name("magicsock-netcheck").unstarted(r));
    }

    /** Installs itself as the device's path selector and starts the timers. The device must be started. */
    public void start() {
        if (device.transport() == null) throw new IllegalStateException("start the device first");
        device.setPathSelector(this);
        timers.scheduleWithFixedDelay(this::tick, 250, 250, TimeUnit.MILLISECONDS);
        // The interfaces' addresses now, without waiting for a netcheck (which needs the DERP map of the first
        // netmap, then STUN replies): the first map request already tells peers on the same LAN where we are, as
        // tailscaled's first endpoints do.
        updateEndpoints(null);
        scheduleNetcheck();
    }

    private void scheduleNetcheck() {
        if (closed) return;
        long delay = 20_000 + ThreadLocalRandom.current().nextLong(6_000);
        timers.schedule(() -> {
            requestNetcheck();
            scheduleNetcheck();
        }, delay, TimeUnit.MILLISECONDS);
    }

    /**
     * Reach DERP over plain HTTP from now on (new connections). The daemon sets it when the control server itself
     * is plain HTTP: its embedded DERP then has no TLS either.
     */
    public void setDerpHttp(boolean v) {
        derpHttp = v;
    }

    public DiscoPublicKey discoPublicKey() {
        return discoPublic;
    }

    public List<DiscoveredEndpoint> endpoints() {
        return endpoints;
    }

    /** Our home DERP region id, 0 before the first netcheck. */
    public int homeDerp() {
        return homeDerp;
    }

    /** True when the connection to the home DERP region is up (for health and status). */
    public boolean homeDerpConnected() {
        DerpConn c = homeDerp == 0 ? null : derps.get(homeDerp);
        return c != null && c.client.isConnected();
    }

    /** The last netcheck report, null before the first. */
    public NetcheckReport lastNetcheck() {
        return lastReport;
    }

    // --- configuration ----------------------------------------------------------------------------------

    public void setDerpMap(DERPMap map) {
        this.derpMap = map;
        // Regions that went away, or whose node we would dial now is another (replicas of lattice-control list
        // themselves first; after a failover the new one's map names it): drop their connections. The home region's
        // is dialled again by the netcheck below, others when next used (as tailscale's derp-region-redefined).
        for (DerpConn c : List.copyOf(derps.values())) {
            DERPRegion r = map == null || map.regions() == null ? null : map.regions().get(c.region);
            // A connection to a later node (the first failed) stays while that node is still where it was.
            if (r == null || !c.client.url().equals(derpUrl(r, c.node))) closeDerp(c.region);
        }
        if (homeDerp != 0 && (map == null || map.regions() == null || !map.regions().containsKey(homeDerp))) homeDerp = 0;
        if (homeDerp != 0 && !derps.containsKey(homeDerp)) ensureHome(homeDerp); // now, not after the netcheck
        requestNetcheck();
    }

    /**
     * Replaces the peer set; state (proven paths) is kept for peers whose disco key did not change. Returns the peers
     * whose disco key changed from one key to another: they restarted, and their WireGuard sessions are dead.
     */
    public List<NodePublicKey> setPeers(List<Node> nodes) {
        long now = clock.nanoTime();
        List<NodePublicKey> restarted = new ArrayList<>();
        Set<NodePublicKey> seen = new java.util.HashSet<>();
        for (Node n : nodes) {
            if (n == null || n.key() == null || n.key().equals(nodePublic)) continue;
            seen.add(n.key());
            PeerEndpoint pe = peers.computeIfAbsent(n.key(), PeerEndpoint::new);
            DiscoPublicKey dk = n.discoKey() == null || n.discoKey().isZero() ? null : n.discoKey();
            if (!Objects.equals(dk, pe.disco)) {
                if (pe.disco != null && dk != null) restarted.add(n.key());
                if (pe.disco != null) byDisco.remove(pe.disco, pe);
                pe.resetPath();
                pe.shared = dk == null ? null : discoKey.shared(dk);
                pe.disco = dk;
                if (dk != null) byDisco.put(dk, pe);
            }
            int oldRegion = pe.homeRegion;
            pe.homeRegion = n.derpRegion();
            pe.name = n.name() == null ? "" : n.name();
            pe.firstIp = n.addresses() == null || n.addresses().isEmpty() ? "" : IpPrefix.format(n.addresses().getFirst().address());
            List<InetSocketAddress> eps = new ArrayList<>();
            if (n.endpoints() != null) {
                for (AddrPort a : n.endpoints()) if (a != null) eps.add(new InetSocketAddress(a.address(), a.port()));
            }
            boolean newEndpoints = pe.setAdvertised(eps, now);
            pe.staticPath = dk == null && !eps.isEmpty() ? Endpoint.of(eps.getFirst()) : null;
            // A peer we are talking to just told control where it is (typically right after it joined): punch now
            // instead of waiting for the next 5 s round, which is what makes a late joiner's first packets slow.
            if (pe.disco != null && (newEndpoints || (oldRegion == 0 && pe.homeRegion != 0))) {
                synchronized (pe) {
                    if (!pe.trusted(now) && now - pe.lastSend < ACTIVE_NANOS_FOR_REPUNCH) {
                        pe.lastFullPing = now;
                        timers.execute(() -> fullPing(pe));
                    } else {
                        pe.lastFullPing = 0; // the next send may punch at once
                    }
                }
            }
        }
        for (PeerEndpoint pe : List.copyOf(peers.values())) {
            if (!seen.contains(pe.key)) {
                peers.remove(pe.key, pe);
                if (pe.disco != null) byDisco.remove(pe.disco, pe);
            }
        }
        return restarted;
    }

    /** The host's addresses changed (roaming): forget proven paths and rediscover our endpoints now. */
    public void rebind() {
        for (PeerEndpoint pe : peers.values()) pe.resetPath();
        // DERP connections from an address we no longer have are dead but would take minutes to notice.
        for (DerpConn c : List.copyOf(derps.values())) c.client.disconnect();
        requestNetcheck();
    }

    // --- PathSelector -----------------------------------------------------------------------------------

    @Override
    public Endpoint directPath(NodePublicKey peer) {
        PeerEndpoint pe = peers.get(peer);
        if (pe == null) return null;
        long now = clock.nanoTime();
        pe.lastSend = now;
        Endpoint ep = pe.directPath(now);
        if (ep == null && pe.disco != null && !closed) {
            // Start hole punching now rather than at the next tick; the tick rate-limits it.
            synchronized (pe) {
                if (pe.wantsFullPing(now)) {
                    pe.lastFullPing = now;
                    timers.execute(() -> fullPing(pe));
                }
            }
        }
        return ep;
    }

    @Override
    public boolean sendIndirect(NodePublicKey peer, byte[] buf, int off, int len) {
        PeerEndpoint pe = peers.get(peer);
        int region = pe == null ? 0 : derpRegionFor(pe);
        if (region == 0) return false;
        boolean ok = sendDerp(region, peer, Arrays.copyOfRange(buf, off, off + len));
        if (ok) {
            stats.derpDataSentPackets.increment();
            stats.derpDataSentBytes.add(len);
        }
        return ok;
    }

    /**
     * The peer's home region, else the region it last spoke to us from, else our own home: a peer that just
     * joined has not told control its region yet, and with one region (a self-hosted tailnet) it is ours.
     */
    private int derpRegionFor(PeerEndpoint pe) {
        int r = pe.homeRegion;
        if (r == 0) r = pe.lastDerpRxRegion;
        return r != 0 ? r : homeDerp;
    }

    @Override
    public boolean receiveOther(byte[] buf, int off, int len, byte[] srcSockaddr) {
        try {
            if (len >= Disco.HEADER_LEN && Arrays.equals(buf, off, off + Disco.MAGIC.length, Disco.MAGIC, 0, Disco.MAGIC.length)) {
                handleDisco(Arrays.copyOfRange(buf, off, off + len), Endpoint.fromSockaddr(srcSockaddr), 0, null);
                return true;
            }
            return netcheck.receive(buf, off, len);
        } catch (RuntimeException e) {
            stats.discoBad.increment();
            log.debug("dropped odd datagram", e);
            return true;
        }
    }

    @Override
    public void authenticatedReceive(NodePublicKey peer, byte[] srcSockaddr) {
        PeerEndpoint pe = peers.get(peer);
        if (pe == null) return;
        pe.lastRx = clock.nanoTime();
        pe.lastRxWallMillis = System.currentTimeMillis();
    }

    // --- disco ------------------------------------------------------------------------------------------

    /**
     * One disco packet, from UDP {@code src} or (when {@code derpRegion} != 0) from DERP client {@code derpSrc}.
     * Unknown senders and boxes that do not open are dropped silently, as tailscale does.
     */
    private void handleDisco(byte[] packet, Endpoint src, int derpRegion, NodePublicKey derpSrc) {
        stats.discoReceived.increment();
        DiscoPublicKey sender = Disco.source(packet);
        PeerEndpoint pe = sender == null ? null : byDisco.get(sender);
        if (pe == null || pe.shared == null) {
            stats.discoUnknownSender.increment();
            return;
        }
        if (derpSrc != null && !derpSrc.equals(pe.key)) {
            // Disco key claims a peer other than the DERP-authenticated sender.
            stats.discoUnknownSender.increment();
            return;
        }
        DiscoMessage m;
        try {
            m = Disco.open(packet, pe.shared);
        } catch (DiscoException e) {
            stats.discoBad.increment();
            return;
        }
        long now = clock.nanoTime();
        switch (m) {
            case DiscoMessage.Ping p -> {
                if (p.nodeKey() != null && !p.nodeKey().equals(pe.key)) {
                    stats.discoBad.increment();
                    return;
                }
                if (derpRegion != 0) {
                    pe.lastDerpRxRegion = derpRegion;
                    sendDiscoDerp(derpRegion, pe, new DiscoMessage.Pong(p.txId(), new InetSocketAddress(DERP_MAGIC_IP, derpRegion)));
                } else {
                    // A ping that came through our own tunnel (to our tailnet address) must not become a path.
                    if (TailnetAddrs.contains(src.address().getAddress())) return;
                    pe.addCandidate(src, now);
                    sendDiscoUdp(src, pe, new DiscoMessage.Pong(p.txId(), src.address()));
                }
            }
            case DiscoMessage.Pong p -> {
                Pending pd = pending.remove(p.txId());
                if (pd == null || pd.peer != pe) return;
                stats.pongsReceived.increment();
                long rtt = now - pd.sentNanos;
                if (pd.to != null) {
                    if (derpRegion != 0 || !pd.to.equals(src)) return; // the pong must come back from where we pinged
                    pe.pongReceived(pd.to, rtt, now);
                    if (pd.user != null) pd.user.complete(result(pe, rtt, pd.to.toString(), 0));
                } else if (pd.user != null) {
                    pd.user.complete(result(pe, rtt, "", pd.derpRegion));
                }
            }
            case DiscoMessage.CallMeMaybe c -> {
                if (derpRegion == 0) return; // only meaningful over DERP
                stats.callMeMaybeReceived.increment();
                pe.lastDerpRxRegion = derpRegion;
                for (InetSocketAddress a : c.myNumber()) {
                    if (a.getAddress().isAnyLocalAddress() || a.getPort() == 0) continue;
                    pe.addCandidate(Endpoint.of(a), now);
                }
                // Ping everything now so both NATs open towards each other; at most once a second per peer, so
                // a peer cannot turn a stream of CallMeMaybes into a stream of our pings.
                boolean go;
                synchronized (pe) {
                    go = now - pe.lastCallMeMaybePing >= 1_000_000_000L;
                    if (go) pe.lastCallMeMaybePing = now;
                }
                if (go) for (Endpoint ep : pe.candidates()) sendPing(pe, ep, 0, null);
            }
            default -> {
                // peer relay messages are not supported
            }
        }
    }

    private PingResult result(PeerEndpoint pe, long rttNanos, String endpoint, int region) {
        String code = region == 0 ? "" : regionCode(region);
        return new PingResult(pe.firstIp, pe.firstIp, pe.name, null, rttNanos / 1e9, endpoint, region, code);
    }

    private String regionCode(int region) {
        DERPMap m = derpMap;
        DERPRegion r = m == null || m.regions() == null ? null : m.regions().get(region);
        return r == null || r.regionCode() == null ? Integer.toString(region) : r.regionCode();
    }

    /** Pings one address (UDP) or, with {@code to} null, the peer via DERP {@code region}. */
    private void sendPing(PeerEndpoint pe, Endpoint to, int region, CompletableFuture<PingResult> user) {
        TxId tx = TxId.random();
        pending.put(tx, new Pending(pe, to, region, clock.nanoTime(), user));
        DiscoMessage.Ping ping = new DiscoMessage.Ping(tx, nodePublic);
        stats.pingsSent.increment();
        if (to != null) sendDiscoUdp(to, pe, ping);
        else sendDiscoDerp(region, pe, ping);
    }

    private boolean sendDiscoUdp(Endpoint to, PeerEndpoint pe, DiscoMessage m) {
        UdpTransport u = device.transport();
        if (u == null || pe.shared == null) return false;
        byte[] p = Disco.seal(m, discoPublic, pe.shared);
        return u.send(p, 0, p.length, to);
    }

    private boolean sendDiscoDerp(int region, PeerEndpoint pe, DiscoMessage m) {
        if (region == 0 || pe.shared == null) return false;
        return sendDerp(region, pe.key, Disco.seal(m, discoPublic, pe.shared));
    }

    /** Pings every candidate and sends a CallMeMaybe with our endpoints over DERP (tailscale's full ping). */
    private void fullPing(PeerEndpoint pe) {
        if (closed || pe.disco == null) return;
        for (Endpoint ep : pe.candidates()) sendPing(pe, ep, 0, null);
        int region = derpRegionFor(pe);
        List<InetSocketAddress> mine = new ArrayList<>();
        for (DiscoveredEndpoint d : endpoints) mine.add(new InetSocketAddress(d.addr().address(), d.addr().port()));
        if (region != 0 && !mine.isEmpty()) sendDiscoDerp(region, pe, new DiscoMessage.CallMeMaybe(mine));
    }

    /**
     * A disco ping like {@code tailscale ping}: to the trusted direct address if there is one, else to every path at
     * once (each candidate over UDP and the peer via DERP) where the first pong wins. Reports the endpoint for a UDP
     * pong, the DERP region otherwise, and the round trip.
     */
    public CompletableFuture<PingResult> ping(NodePublicKey peer, Duration timeout) {
        PeerEndpoint pe = peers.get(peer);
        if (pe == null) return CompletableFuture.completedFuture(PingResult.error("", "unknown peer"));
        if (pe.disco == null) return CompletableFuture.completedFuture(PingResult.error(pe.firstIp, "peer has no disco key"));
        CompletableFuture<PingResult> f = new CompletableFuture<>();
        pe.lastSend = clock.nanoTime(); // a user ping counts as activity, so paths are kept fresh meanwhile
        timers.execute(() -> {
            // As tailscale's cliPing: a trusted path is pinged alone; otherwise every candidate and DERP race.
            Endpoint best = pe.directPath(clock.nanoTime());
            if (best != null) {
                sendPing(pe, best, 0, f);
                return;
            }
            for (Endpoint ep : pe.candidates()) sendPing(pe, ep, 0, f);
            int region = derpRegionFor(pe);
            if (region != 0) sendPing(pe, null, region, f);
        });
        return f.completeOnTimeout(PingResult.error(pe.firstIp, "timeout waiting for pong"), timeout.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** How {@code peer} is reached now; null if unknown. */
    public PeerPath pathOf(NodePublicKey peer) {
        PeerEndpoint pe = peers.get(peer);
        if (pe == null) return null;
        Endpoint ep = pe.directPath(clock.nanoTime());
        int region = derpRegionFor(pe);
        long rx = pe.lastRxWallMillis;
        return new PeerPath(ep == null ? "" : ep.toString(), region == 0 ? "" : regionCode(region),
                rx == 0 ? null : Instant.ofEpochMilli(rx));
    }

    // --- timers ----------------------------------------------------------------------------------------

    private void tick() {
        try {
            long now = clock.nanoTime();
            for (PeerEndpoint pe : peers.values()) {
                if (pe.disco == null || !pe.active(now)) continue;
                Endpoint best = null;
                boolean heartbeat = false, full = false;
                synchronized (pe) {
                    if (pe.wantsHeartbeat(now)) {
                        pe.lastHeartbeat = now;
                        heartbeat = true;
                        best = pe.best();
                    } else if (pe.wantsFullPing(now)) {
                        pe.lastFullPing = now;
                        full = true;
                    }
                }
                if (heartbeat && best != null) sendPing(pe, best, 0, null);
                if (full) fullPing(pe);
            }
            pending.values().removeIf(p -> now - p.sentNanos > PING_TIMEOUT_NANOS);
            long idle = options.derpIdle().toNanos();
            for (DerpConn c : List.copyOf(derps.values())) {
                if (c.region != homeDerp && now - c.lastUsed > idle) closeDerp(c.region);
            }
        } catch (RuntimeException e) {
            log.warn("magicsock tick failed", e);
        }
    }

    private void requestNetcheck() {
        if (closed || !netcheckQueued.compareAndSet(false, true)) return;
        netcheckRunner.execute(() -> {
            netcheckQueued.set(false);
            try {
                runNetcheck();
            } catch (RuntimeException e) {
                log.warn("netcheck failed", e);
            }
        });
    }

    /** Runs a netcheck on the device's socket, then updates endpoints and the home region. */
    private void runNetcheck() {
        DERPMap map = derpMap;
        NetcheckReport r = map == null ? null : netcheck.run(map, options.netcheckTimeout());
        if (closed) return;
        if (r != null) {
            lastReport = r;
            chooseHome(r);
        }
        updateEndpoints(r);
    }

    /** Switches the home region when {@link #nextHome} says so, and tells the listener. */
    private void chooseHome(NetcheckReport r) {
        int cur = homeDerp;
        int next = nextHome(cur, r, derpMap);
        if (next == 0) return;
        if (next != cur) {
            homeDerp = next;
            DerpConn old = cur == 0 ? null : derps.get(cur);
            if (old != null) old.client.notePreferred(false);
        }
        ensureHome(next);
        if (next != cur) listener.homeDerpChanged(next);
    }

    /**
     * Tailscale-like hysteresis: keep the current home unless it was not measured or the preferred region takes at
     * most 2/3 of its latency. With nothing measured (UDP and HTTPS blocked) keep the current one, or take the lowest
     * region id so peers can reach us at all.
     */
    static int nextHome(int cur, NetcheckReport r, DERPMap map) {
        int pref = r.preferredDerp();
        if (pref == 0) {
            if (cur != 0) return cur;
            if (map == null || map.regions() == null) return 0;
            return map.regions().keySet().stream().filter(Objects::nonNull).min(Integer::compare).orElse(0);
        }
        if (cur == 0 || pref == cur) return pref;
        Double curLat = r.regionLatencySeconds().get(cur);
        Double prefLat = r.regionLatencySeconds().get(pref);
        if (curLat != null && prefLat != null && prefLat > curLat * 2 / 3) return cur;
        return pref;
    }

    private void ensureHome(int region) {
        DerpConn c = derp(region);
        if (c != null) c.client.notePreferred(true);
    }

    private void updateEndpoints(NetcheckReport r) {
        UdpTransport u = device.transport();
        if (u == null) return;
        int port = u.port();
        Set<DiscoveredEndpoint> eps = new LinkedHashSet<>();
        if (r != null) {
            if (r.globalV4() != null && !r.globalV4().isEmpty()) eps.add(new DiscoveredEndpoint(AddrPort.parse(r.globalV4()), EndpointType.STUN));
            if (r.globalV6() != null && !r.globalV6().isEmpty()) eps.add(new DiscoveredEndpoint(AddrPort.parse(r.globalV6()), EndpointType.STUN));
        }
        for (InetAddress a : localAddresses(options.includeLoopback())) {
            DiscoveredEndpoint d = new DiscoveredEndpoint(new AddrPort(a, port), EndpointType.LOCAL);
            if (eps.stream().noneMatch(e -> e.addr().equals(d.addr()))) eps.add(d);
        }
        List<DiscoveredEndpoint> list = List.copyOf(eps);
        if (!list.equals(endpoints)) {
            endpoints = list;
            listener.endpointsChanged(list);
        }
    }

    /** Up, non-loopback interface addresses (IPv6 link-local left out: they need a zone peers cannot use). */
    static List<InetAddress> localAddresses(boolean includeLoopback) {
        List<InetAddress> out = new ArrayList<>();
        try {
            for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!ni.isUp()) continue;
                for (InetAddress a : Collections.list(ni.getInetAddresses())) {
                    if (a.isLoopbackAddress() && !includeLoopback) continue;
                    if (a.isLinkLocalAddress() || a.isAnyLocalAddress() || a.isMulticastAddress()) continue;
                    if (TailnetAddrs.contains(a)) continue; // our own tunnel: a path through it would loop
                    if (a instanceof Inet6Address v6) a = InetAddress.getByAddress(v6.getAddress()); // drop the scope
                    out.add(a);
                }
            }
        } catch (SocketException | java.net.UnknownHostException e) {
            log.debug("could not list interfaces", e);
        }
        out.sort((x, y) -> Boolean.compare(x instanceof Inet6Address, y instanceof Inet6Address));
        return out;
    }

    // --- DERP ------------------------------------------------------------------------------------------

    private boolean sendDerp(int region, NodePublicKey dst, byte[] packet) {
        DerpConn c = derp(region);
        if (c == null) return false;
        c.lastUsed = clock.nanoTime();
        boolean ok = c.client.send(dst, packet);
        if (ok) stats.derpSent.increment();
        return ok;
    }

    /** The connection to {@code region}, dialled on first use (sends fail until it is up; WireGuard retries). */
    private DerpConn derp(int region) {
        return derp(region, 0);
    }

    /** The region's connection, dialling its {@code node}-th dialable node if there is none. */
    private DerpConn derp(int region, int node) {
        DerpConn c = derps.get(region);
        if (c != null || closed) return c;
        DERPMap m = derpMap;
        DERPRegion r = m == null || m.regions() == null ? null : m.regions().get(region);
        URI url = r == null ? null : derpUrl(r, node);
        if (url == null) return null;
        synchronized (derps) {
            c = derps.get(region);
            if (c != null) return c;
            boolean insecure = r.nodes().stream().anyMatch(n -> Boolean.TRUE.equals(n.insecureForTests()));
            DerpClient client = new DerpClient(url, nodeKey, DerpClientOptions.defaults().withInsecureForTests(insecure)
                    .withDialer(options.derpDialer()),
                    group, new DerpReceiver(region, node));
            c = new DerpConn(region, node, client);
            c.lastUsed = clock.nanoTime();
            derps.put(region, c);
            if (region == homeDerp) client.notePreferred(true);
            client.connect();
        }
        return c;
    }

    private URI derpUrl(DERPRegion r) {
        return derpUrl(r, 0);
    }

    /** The URL of the region's {@code index}-th dialable node (not STUN-only, with a host), or null. */
    private URI derpUrl(DERPRegion r, int index) {
        if (r.nodes() == null) return null;
        int seen = 0;
        for (DERPNode n : r.nodes()) {
            if (Boolean.TRUE.equals(n.stunOnly()) || n.hostName() == null || n.hostName().isEmpty()) continue;
            if (seen++ < index) continue;
            boolean http = derpHttp;
            int port = n.derpPort() == null || n.derpPort() == 0 ? (http ? 80 : 443) : n.derpPort();
            String host = n.hostName().indexOf(':') >= 0 ? "[" + n.hostName() + "]" : n.hostName();
            return URI.create((http ? "http" : "https") + "://" + host + ":" + port + "/derp");
        }
        return null;
    }

    private void closeDerp(int region) {
        DerpConn c = derps.remove(region);
        if (c != null) c.client.close();
    }

    /** Packets from one region's DERP server. */
    private final class DerpReceiver implements DerpClientListener {
        private final int region;
        private final int node;

        DerpReceiver(int region, int node) {
            this.region = region;
            this.node = node;
        }

        /**
         * A node that keeps failing gives way to the region's next (after the last, the first again), as tailscale's
         * derphttp client dials a region's nodes in order: a replica of lattice-control that died leaves the others.
         */
        @Override
        public void onDisconnected(Throwable cause) {
            DerpConn c = derps.get(region);
            if (c == null || c.node != node || c.failures.incrementAndGet() < DERP_NODE_FAILURES || closed) return;
            DERPMap m = derpMap;
            DERPRegion r = m == null || m.regions() == null ? null : m.regions().get(region);
            if (r == null || derpUrl(r, 1) == null) return; // one node: keep retrying it
            int next = derpUrl(r, node + 1) != null ? node + 1 : 0;
            timers.execute(() -> {
                synchronized (derps) {
                    if (derps.get(region) != c) return;
                    closeDerp(region);
                }
                log.info("DERP region {}: {} unreachable ({}); trying the region's next node", region, c.client.url(),
                        cause == null ? "closed" : cause.toString());
                DerpConn n = derp(region, next);
                if (n != null && region == homeDerp) n.client.notePreferred(true);
            });
        }

        @Override
        public void onPacket(NodePublicKey src, byte[] packet) {
            try {
                receiveDerp(region, src, packet);
            } catch (RuntimeException e) {
                stats.discoBad.increment();
                log.debug("dropped odd DERP packet", e);
            }
        }

        @Override
        public void onConnected(NodePublicKey serverKey, int generation) {
            DerpConn c = derps.get(region);
            if (c != null && c.node == node) c.failures.set(0);
            if (region == homeDerp && c != null) c.client.notePreferred(true);
        }
    }

    /** A packet relayed from {@code src}: disco is handled here, WireGuard goes to the device. */
    void receiveDerp(int region, NodePublicKey src, byte[] packet) {
        stats.derpReceived.increment();
        DerpConn c = derps.get(region);
        if (c != null) c.lastUsed = clock.nanoTime();
        if (Disco.looksLikeDiscoWrapper(packet)) {
            handleDisco(packet, null, region, src);
            return;
        }
        PeerEndpoint pe = peers.get(src);
        if (pe == null) return; // not a peer of ours
        stats.derpDataReceivedPackets.increment();
        stats.derpDataReceivedBytes.add(packet.length);
        pe.lastDerpRxRegion = region;
        byte[] b = Arrays.copyOf(packet, packet.length + Device.INDIRECT_SLACK);
        device.receiveIndirect(b, packet.length);
    }

    @Override
    public void close() {
        closed = true;
        if (device.transport() != null) device.setPathSelector(null);
        timers.shutdownNow();
        netcheckRunner.shutdownNow();
        for (Integer r : List.copyOf(derps.keySet())) closeDerp(r);
        pending.values().forEach(p -> {
            if (p.user != null) p.user.complete(PingResult.error(p.peer.firstIp, "magicsock closed"));
        });
        pending.clear();
    }

    // Visible for tests.
    Map<NodePublicKey, PeerEndpoint> peersForTest() {
        return peers;
    }
}
