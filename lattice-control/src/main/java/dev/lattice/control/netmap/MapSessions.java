package dev.lattice.control.netmap;

import dev.lattice.control.machine.EncodedMapResponse;
import dev.lattice.control.machine.MapSink;
import dev.lattice.control.machine.PeerRun;
import dev.lattice.control.metrics.ControlMetrics;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DNSConfig;
import dev.lattice.wire.tailcfg.Debug;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.UserProfile;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * All open map streams, and the fan-out of tailnet changes to them. Changes are collected for a short coalescing
 * window, then one tick hands the batch to every session and each sends what changed for it as one delta. A burst of
 * changes (a restart storm: N nodes coming online) costs one message per session per tick, not one per change; the
 * window grows to the length of the last tick (up to {@link #MAX_WINDOW}) while ticks are long, and ticks are spaced
 * by the number of sessions ({@link #SPACING_PER_SESSION_NANOS}), so fan-out leaves the server and its clients time for
 * the rest. Sessions that get the same delta (usually all but the nodes that changed) share one encoding of it.
 */
public final class MapSessions implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MapSessions.class);
    /** Changes arriving within this window go out together. */
    static final Duration COALESCE = Duration.ofMillis(25);
    /**
     * The longest a long tick stretches the next window: changes pile up during a long tick anyway, and a window as
     * long as a storm's tick (seconds on a loaded machine) held the first change after the storm for as long.
     */
    static final Duration MAX_WINDOW = Duration.ofMillis(250);
    /**
     * Ticks are at least this far apart per open session (10,000 sessions: one a second at most). Each tick costs
     * every session a message (write, seal, the client's read), so in a restart storm, where nodes come online all
     * the time, 10,000 sessions at four ticks a second were 40,000 messages a second of nothing but online patches.
     * The first change after a quiet spell still goes out after {@link #COALESCE}.
     */
    static final long SPACING_PER_SESSION_NANOS = 100_000;
    /** The longest {@link #SPACING_PER_SESSION_NANOS} spaces ticks, however many sessions. */
    static final Duration MAX_SPACING = Duration.ofSeconds(1);
    /** headscale: 50 s plus up to 9 s of jitter; clients give up after 120 s of silence. */
    static final Duration KEEPALIVE = Duration.ofSeconds(50);
    /**
     * Each keep-alive carries an HTTP/2 PING that must be acknowledged within this. With the keep-alive's 50–59 s,
     * a node whose link is cut goes offline within 74 s at most (HA routers sooner: {@link RouteProbes}).
     */
    static final Duration KEEPALIVE_ACK_TIMEOUT = Duration.ofSeconds(15);

    private final Tailnet tailnet;
    private final TailcfgNodes nodes;
    private final Supplier<DERPMap> derpMap;
    private final Supplier<DNSConfig> dnsConfig;
    private final String domain;
    private volatile PacketPolicy policy = PacketPolicy.ALLOW_ALL;
    private final ScheduledExecutorService timers;
    private final Map<MapSession, Boolean> sessions = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.LongAdder flushes = new java.util.concurrent.atomic.LongAdder();
    private final PeerViews peerViews;
    private final PeerRuns peerRuns;
    private final FullMapBudget fullMaps;
    private final boolean share;
    /** Deltas encoded for sharing so far (each went to one or more sessions). */
    private final java.util.concurrent.atomic.LongAdder sharedEncodings = new java.util.concurrent.atomic.LongAdder();
    /** Changes since the last tick, and whether a tick is scheduled or running; guarded by itself. */
    private final List<Change> pending = new ArrayList<>();
    private boolean ticking;
    /** Changes published so far; a session hears only those after the count when it opened. Guarded by pending. */
    private long published;
    /** When the last tick started (System.nanoTime); guarded by pending. */
    private long lastTickStart = System.nanoTime() - MAX_SPACING.toNanos();

    public MapSessions(Tailnet tailnet, TailcfgNodes nodes, Supplier<DERPMap> derpMap, Supplier<DNSConfig> dnsConfig,
            String domain) {
        this(tailnet, nodes, derpMap, dnsConfig, domain, true);
    }

    /**
     * @param share whether peers and deltas are built and encoded once for all sessions; false builds each for each
     *     session, as before they were shared (tests compare the two byte for byte)
     */
    MapSessions(Tailnet tailnet, TailcfgNodes nodes, Supplier<DERPMap> derpMap, Supplier<DNSConfig> dnsConfig,
            String domain, boolean share) {
        this(tailnet, nodes, derpMap, dnsConfig, domain, share, FullMapBudget.forHeap());
    }

    /** @param fullMaps how many bytes of full maps may be on their way to clients at once */
    MapSessions(Tailnet tailnet, TailcfgNodes nodes, Supplier<DERPMap> derpMap, Supplier<DNSConfig> dnsConfig,
            String domain, boolean share, FullMapBudget fullMaps) {
        this.fullMaps = fullMaps;
        this.share = share;
        this.tailnet = tailnet;
        this.nodes = nodes;
        this.derpMap = derpMap;
        this.dnsConfig = dnsConfig;
        this.domain = domain;
        this.timers = Executors.newScheduledThreadPool(2, Thread.ofPlatform().name("map-fanout-", 0).daemon().factory());
        this.peerViews = new PeerViews(tailnet, nodes, share);
        this.peerRuns = new PeerRuns(tailnet, peerViews, nodes);
        tailnet.addListener(this::onChanges);
    }

    public void setPolicy(PacketPolicy p) {
        this.policy = p;
        onChanges(List.of(Change.policy()));
    }

    public int size() {
        return sessions.size();
    }

    /** Coalesced updates processed so far, whether or not they sent anything (benchmarks wait on this). */
    public long flushes() {
        return flushes.sum();
    }

    private volatile ControlMetrics metrics;
    /** The keep-alive period and the most jitter added to it (as headscale: 50 s plus up to 9 s); tests shorten them. */
    private volatile long keepAliveNanos = KEEPALIVE.toNanos();
    private volatile long keepAliveJitterNanos = Duration.ofSeconds(9).toNanos();

    void keepAlive(Duration period, Duration jitter) {
        keepAliveNanos = period.toNanos();
        keepAliveJitterNanos = jitter.toNanos();
    }

    /** How long a session may stay silent before it gets a keep-alive: the period plus a new jitter each time. */
    long keepAliveQuietNanos() {
        long j = keepAliveJitterNanos;
        return keepAliveNanos + (j > 0 ? ThreadLocalRandom.current().nextLong(j) : 0);
    }

    /** Where sessions, messages and update latencies are counted; none until set. */
    public void metrics(ControlMetrics m) {
        this.metrics = m;
    }

    ControlMetrics metricsOrNull() {
        return metrics;
    }

    void flushed() {
        flushes.increment();
    }

    /** Starts streaming to {@code sink}: a full map now, deltas and keep-alives after. */
    public MapSession open(long nodeId, int capVer, MapSink sink) {
        MapSession s = new MapSession(this, nodeId, capVer, sink);
        ControlMetrics m = metrics;
        if (m != null) m.mapSessionsOpened.inc();
        // The presence comes first and the close hook after: if the stream is already gone, the hook runs now and
        // takes the presence back, instead of a close that ran too early leaving the node online for good.
        Tailnet.Presence presence = tailnet.streamOpened(nodeId);
        synchronized (pending) {
            s.heardUpTo(published);
        }
        sessions.put(s, Boolean.TRUE);
        sink.onClose(() -> {
            sessions.remove(s);
            s.cancelTimers();
            presence.close();
        });
        // The response starts now: a client waiting for room among the full maps in flight sees its stream open
        // (tailscale's client gives up on a map request whose headers do not come), and its map follows.
        sink.start();
        // Waits (on the request's virtual thread, holding no lock) for room among the full maps in flight.
        int nodes = tailnet.nodes().size();
        // A client hears nothing while it waits: tailscale's gives a map request up after 120 s of silence (its
        // watchdog, which keep-alives reset, also before the first map), so a long wait gets keep-alives as a stream.
        long[] lastHeard = {System.nanoTime()};
        int held = fullMaps.acquire(nodes, () -> {
            if (!sink.isOpen()) return false;
            long now = System.nanoTime();
            if (now - lastHeard[0] >= KEEPALIVE.toNanos()) {
                sink.send(MapSession.KEEPALIVE_MSG);
                lastHeard[0] = now;
            }
            return true;
        });
        if (held < 0) return s; // the client went away while waiting
        s.sendFull(() -> fullMaps.release(held), bytes -> fullMaps.observe(bytes, nodes));
        return s;
    }

    /** The open sessions of one node (usually one; a client may briefly have two while it reconnects). */
    public List<MapSession> sessionsOf(long nodeId) {
        List<MapSession> out = new ArrayList<>(1);
        for (MapSession s : sessions.keySet()) if (s.nodeId() == nodeId) out.add(s);
        return out;
    }

    /** A one-shot full map (Stream false, OmitPeers false). */
    public void sendOnce(long nodeId, int capVer, MapSink sink) {
        tailnet.node(nodeId).ifPresent(n -> sink.send(fullResponse(n, capVer)));
    }

    private void onChanges(List<Change> changes) {
        for (Change c : changes) {
            if (c.kind() == Change.Kind.REMOVED) {
                peerViews.forget(c.nodeId());
                peerRuns.forget(c.nodeId());
            }
        }
        long delay;
        synchronized (pending) {
            pending.addAll(changes);
            published += changes.size();
            if (ticking) return; // the running or scheduled tick takes them
            ticking = true;
            delay = nextTickDelayNanos(lastTickStart, 0, System.nanoTime(), sessions.size());
        }
        schedule(delay);
    }

    /** The most distinct batches one tick makes for sessions that opened at different points of it. */
    static final int SUFFIXES = 4;

    /**
     * Where the batch a session gets starts, for a session whose full map has the first {@code skip} of a tick's
     * {@code size} changes: at most {@link #SUFFIXES} starting points per tick, at or before {@code skip}. Each
     * session its own suffix was thousands of distinct batches of thousands of boxed IDs in one tick of a restart
     * storm (sessions open all through it): 6 million set entries at once, and a 2 GiB heap ran out. A session may now
     * get again up to a quarter of the tick's changes that its map already has; deltas carry the nodes as they are
     * when sent, which a client takes as it took the map.
     */
    static int suffixStart(int skip, int size) {
        int step = Math.max(1, (size + SUFFIXES - 1) / SUFFIXES);
        return skip / step * step;
    }

    /** How far apart ticks are kept with {@code sessions} open ({@link #SPACING_PER_SESSION_NANOS}). */
    static long spacingNanos(int sessions) {
        return Math.min(MAX_SPACING.toNanos(), sessions * SPACING_PER_SESSION_NANOS);
    }

    /**
     * When the tick after one that started at {@code start} and took {@code took} may run, from {@code now}: after
     * a window as long as it took (between {@link #COALESCE} and {@link #MAX_WINDOW}), and no sooner than the
     * spacing for {@code sessions} after its start.
     */
    static long nextTickDelayNanos(long start, long took, long now, int sessions) {
        long window = Math.max(COALESCE.toNanos(), Math.min(took, MAX_WINDOW.toNanos()));
        return Math.max(window, start + spacingNanos(sessions) - now);
    }

    /** KiB of the full-map budget free now (tests watch it come back). */
    int fullMapBudgetFree() {
        return fullMaps.availableKib();
    }

    long sharedEncodings() {
        return sharedEncodings.sum();
    }

    /** Whether changes are waiting for a tick or a tick is running (tests wait for it to end). */
    boolean ticking() {
        synchronized (pending) {
            return ticking;
        }
    }

    private void schedule(long delayNanos) {
        try {
            timers.schedule(this::tick, delayNanos, TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed: nothing streams any more
        }
    }

    /**
     * Hands the changes collected so far to every session and flushes them all. Ticks never overlap, so every
     * session sees the batches in order; the next one waits at least as long as this one took.
     */
    private void tick() {
        long start = System.nanoTime();
        List<Change> batch;
        long first; // the number of the batch's first change
        synchronized (pending) {
            batch = List.copyOf(pending);
            first = published - batch.size() + 1;
            pending.clear();
            lastTickStart = start;
        }
        try {
            List<MapSession> all = new ArrayList<>(sessions.keySet());
            // Made once and shared: per session, the same thousands of IDs of a storm's tick cost N² memory.
            Map<Integer, ChangeBatch> batches = new java.util.HashMap<>();
            for (MapSession s : all) {
                // A session opened meanwhile has the earlier changes in its full map already (as before ticks).
                int skip = (int) Math.min(batch.size(), Math.max(0, s.heardUpTo() - first + 1));
                if (skip < batch.size()) {
                    int from = suffixStart(skip, batch.size());
                    s.enqueue(batches.computeIfAbsent(from, k -> ChangeBatch.of(batch.subList(k, batch.size()))));
                }
            }
            SharedDeltas shared = share ? new SharedDeltas() : null;
            // Two halves on the two fan-out threads: encoding deltas for the nodes that changed is the work here.
            int half = all.size() / 2;
            java.util.concurrent.Future<?> other = half == 0 ? null : timers.submit(() -> {
                for (MapSession s : all.subList(0, half)) s.flush(shared);
            });
            for (MapSession s : all.subList(half, all.size())) s.flush(shared);
            if (other != null) other.get();
            if (shared != null) sharedEncodings.add(shared.size());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | java.util.concurrent.ExecutionException e) {
            log.warn("map fan-out failed", e);
        } finally {
            long now = System.nanoTime();
            synchronized (pending) {
                if (pending.isEmpty()) {
                    ticking = false;
                    return;
                }
            }
            schedule(nextTickDelayNanos(start, now - start, now, sessions.size()));
        }
    }

    ScheduledExecutorService timers() {
        return timers;
    }

    Tailnet tailnet() {
        return tailnet;
    }

    TailcfgNodes nodes() {
        return nodes;
    }

    PacketPolicy policy() {
        return policy;
    }

    DERPMap derpMap() {
        return derpMap.get();
    }

    DNSConfig dnsConfig() {
        return dnsConfig.get();
    }

    /**
     * The DNS config {@code self} gets: the tailnet's, plus (with {@code dns.certificates}) its own name in CertDomains,
     * the one name tailscale's client will ask a certificate for.
     */
    DNSConfig dnsConfigFor(TailnetNode self) {
        DNSConfig d = dnsConfig.get();
        if (d == null || !nodes.https()) return d;
        return d.toBuilder().certDomains(List.of(nodes.certDomain(self))).build();
    }

    /** The complete netmap for a node: self, DERP map, DNS, peers, profiles, filter. */
    MapResponse fullResponse(TailnetNode self, int capVer) {
        return fullResponse(self, capVer, null, null);
    }

    /**
     * As {@link #fullResponse(TailnetNode, int)}; {@code sent} (if not null) also gets the IDs of the peers in it and
     * {@code sentRoutes} the routes of those sent with any, as the loop that builds the peers has them at hand (read
     * back from the 10,000 peer views of a map afterwards, they cost as much again in cache misses).
     */
    MapResponse fullResponse(TailnetNode self, int capVer, java.util.BitSet sent, Map<Long, List<IpPrefix>> sentRoutes) {
        return fullMap(self, capVer, sent, sentRoutes).msg();
    }

    /** A full map and which of its peers came as shared runs ({@link PeerRuns}), for {@link EncodedMapResponse}. */
    record FullMap(MapResponse msg, List<PeerRun.At> runs) {}

    /** As {@link #fullResponse(TailnetNode, int, java.util.BitSet, Map)}, with the runs its peers came in. */
    FullMap fullMap(TailnetNode self, int capVer, java.util.BitSet sent, Map<Long, List<IpPrefix>> sentRoutes) {
        List<TailnetNode> all = tailnet.nodes();
        Map<Long, UserProfile> profiles = new LinkedHashMap<>();
        addProfile(profiles, self);
        long lastUser = nodes.userId(self);
        PacketPolicy pol = policy;
        java.util.BitSet visible = pol.visiblePeers(self, all);
        List<dev.lattice.wire.tailcfg.Node> peers = new ArrayList<>(visible.cardinality());
        List<PeerRun.At> runs = new ArrayList<>();
        // Runs only where every viewer outside a range gets the same routes from it (none: no via grants to vary them).
        boolean byRuns = share && !pol.hasVia();
        long[] visibleWords = byRuns ? visible.toLongArray() : null;
        java.time.Instant now = byRuns ? tailnet.now() : null;
        long selfRange = self.id() / PeerRuns.SIZE;
        for (int i = 0; i < all.size(); ) {
            long range = all.get(i).id() / PeerRuns.SIZE;
            if (byRuns && range != selfRange) {
                long words = range < visibleWords.length ? visibleWords[(int) range] : 0;
                PeerRuns.Entry e = peerRuns.get(all, i, words, capVer, now);
                if (e != null) {
                    if (e.run() != null) {
                        runs.add(new PeerRun.At(peers.size(), e.run()));
                        peers.addAll(e.run().members());
                        if (sent != null) {
                            for (long m = e.visible(); m != 0; m &= m - 1) {
                                sent.set(Math.toIntExact(range * PeerRuns.SIZE + Long.numberOfTrailingZeros(m)));
                            }
                        }
                        for (long user : e.users()) {
                            if (user != lastUser) {
                                addProfile(profiles, user);
                                lastUser = user;
                            }
                        }
                    }
                    i += e.size();
                    continue;
                }
            }
            // One by one, to the end of the range.
            for (TailnetNode n; i < all.size() && (n = all.get(i)).id() / PeerRuns.SIZE == range; i++) {
                if (n.id() == self.id() || !visible.get(Math.toIntExact(n.id()))) continue;
                List<IpPrefix> routes = routesFor(self, n, pol);
                peers.add(peerViews.peer(n, capVer, routes));
                if (sent != null) {
                    sent.set(Math.toIntExact(n.id()));
                    if (!routes.isEmpty()) sentRoutes.put(n.id(), List.copyOf(routes));
                }
                // Most peers share their user with the one before: no profile lookup (and no boxed ID) for them.
                long user = nodes.userId(n);
                if (user != lastUser) {
                    addProfile(profiles, user);
                    lastUser = user;
                }
            }
        }
        MapResponse msg = MapResponse.builder()
                .node(selfNode(self, capVer, pol))
                .derpMap(derpMap.get())
                .domain(domain)
                .collectServices(false)
                .debug(new Debug(null, true, null))
                .dnsConfig(dnsConfigFor(self))
                .userProfiles(new ArrayList<>(profiles.values()))
                .packetFilter(pol.filterFor(self))
                .sshPolicy(pol.sshPolicyFor(self))
                .peers(peers)
                .controlTime(tailnet.now())
                .build();
        return new FullMap(msg, runs);
    }

    /** {@code peer} as {@code viewer} sees it: with only the routes {@link #routesFor} gives. */
    dev.lattice.wire.tailcfg.Node peerNode(TailnetNode viewer, TailnetNode peer, int capVer, PacketPolicy pol) {
        return peerViews.peer(peer, capVer, routesFor(viewer, peer, pol));
    }

    /** {@code peer}'s PeersChangedPatch entry, the same for every viewer. */
    dev.lattice.wire.tailcfg.PeerChange patch(TailnetNode peer) {
        return peerViews.patch(peer);
    }

    /** The routes {@code peer} carries in {@code viewer}'s netmap ({@link PeerRoutes}). */
    List<IpPrefix> routesFor(TailnetNode viewer, TailnetNode peer, PacketPolicy pol) {
        List<IpPrefix> served = nodes.servedRoutes(peer);
        if (served.isEmpty() && !pol.hasVia()) return served;
        return PeerRoutes.of(viewer, peer, served, viewer.approvedRoutes().isEmpty() ? List.of() : nodes.activeRoutes(viewer), pol);
    }

    /** The node's own view: with {@link #selfRoutes}. */
    dev.lattice.wire.tailcfg.Node selfNode(TailnetNode self, int capVer, PacketPolicy pol) {
        return nodes.toTailcfg(self, true, capVer, selfRoutes(self, pol), pol.nodeAttrs(self));
    }

    /** A node's routes in its own view: the subnet routes it may use itself (as headscale) and its exit routes. */
    List<IpPrefix> selfRoutes(TailnetNode self, PacketPolicy pol) {
        List<IpPrefix> active = nodes.servedRoutes(self);
        if (active.isEmpty()) return active;
        List<IpPrefix> routes = new ArrayList<>(pol.reduceRoutes(self, active.stream().filter(r -> r.bits() != 0).toList()));
        for (IpPrefix r : active) if (r.bits() == 0) routes.add(r);
        return List.copyOf(routes);
    }

    void addProfile(Map<Long, UserProfile> profiles, TailnetNode n) {
        addProfile(profiles, nodes.userId(n));
    }

    private void addProfile(Map<Long, UserProfile> profiles, long uid) {
        if (profiles.containsKey(uid)) return;
        if (uid == TailcfgNodes.TAGGED_DEVICES_USER_ID) {
            profiles.put(uid, TailcfgNodes.TAGGED_DEVICES);
            return;
        }
        tailnet.user(uid).map(nodes::profile).ifPresent(p -> profiles.put(uid, p));
    }

    static Logger log() {
        return log;
    }

    @Override
    public void close() {
        timers.shutdownNow();
        for (MapSession s : sessions.keySet()) s.sink().finish();
    }

}
