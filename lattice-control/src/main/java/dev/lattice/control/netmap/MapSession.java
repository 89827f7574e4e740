package dev.lattice.control.netmap;

import dev.lattice.control.machine.EncodedMapResponse;
import dev.lattice.control.machine.MapSink;
import dev.lattice.control.metrics.ControlMetrics;
import dev.lattice.control.state.Change;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DNSConfig;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.tailcfg.PeerChange;
import dev.lattice.wire.tailcfg.UserProfile;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;

/** One node's open map stream: pending changes, the coalescing flush and the keep-alive timer. */
public final class MapSession {
    static final MapResponse KEEPALIVE_MSG = MapResponse.builder().keepAlive(true).build();
    private static final JsonNode EMPTY_SSH = Tailcfg.json().createObjectNode().set("rules", Tailcfg.json().createArrayNode());

    private final MapSessions owner;
    private final long nodeId;
    private final int capVer;
    private final MapSink sink;

    // Pending changes, guarded by this: the tick's batch, shared with every other session (null: none).
    private ChangeBatch pending;
    /** When the first change of the batch being coalesced arrived (System.nanoTime). */
    private long pendingSince;
    /** Something is pending for the next flush. */
    private boolean dirty;
    /** The number of the last change published before this session opened: its full map has those. */
    private volatile long heardUpTo;
    /** The pending keep-alive check (one per session at any time, from the first message on). */
    private volatile ScheduledFuture<?> keepAlive;
    /** When the client was last sent anything (System.nanoTime). */
    private volatile long lastSent;
    /** How long it may stay silent before a keep-alive: the period plus this round's jitter. */
    private volatile long quietNanos;
    /** The stream closed: nothing is built or scheduled for it any more. */
    private volatile boolean ended;
    /**
     * Its full map has been sent. Until then (a stream waiting for room among the full maps in flight) changes are not
     * sent: the map, built when room comes, has them all, and a client must not get a delta before its first map.
     */
    private boolean fullSent; // guarded by this
    /**
     * Peers this session has been told about, so visibility changes become adds and removes. A bit per node id:
     * a set of boxed ids per session made memory grow with N² (700 MiB of heap at 3,000 nodes).
     */
    private final BitSet known = new BitSet();
    /** What this session was last sent, to turn a new policy into a delta: filter, SSH policy, routes per peer. */
    private List<FilterRule> sentFilter;
    private JsonNode sentSsh;
    private List<IpPrefix> sentSelfRoutes = List.of();
    /** The node attributes (policy nodeAttrs) its self node was last sent with. */
    private List<String> sentAttrs = List.of();
    private DNSConfig sentDns;
    private DERPMap sentDerp;
    private final Map<Long, List<IpPrefix>> sentRoutes = new HashMap<>();

    MapSession(MapSessions owner, long nodeId, int capVer, MapSink sink) {
        this.owner = owner;
        this.nodeId = nodeId;
        this.capVer = capVer;
        this.sink = sink;
        this.quietNanos = owner.keepAliveQuietNanos();
    }

    public long nodeId() {
        return nodeId;
    }

    long heardUpTo() {
        return heardUpTo;
    }

    void heardUpTo(long n) {
        heardUpTo = n;
    }

    MapSink sink() {
        return sink;
    }

    synchronized void sendFull() {
        sendFull(null, null);
    }

    /**
     * Sends the full map; {@code written} (if not null) runs exactly once when it has been written or was not sent,
     * and {@code built} learns its size.
     */
    synchronized void sendFull(Runnable written, java.util.function.IntConsumer built) {
        try {
            // A stream reset right behind its request is gone before its session opens: no map to build, and no
            // keep-alive left holding the session for a minute (a client cycling streams would pile them up).
            if (ended) return;
            Optional<TailnetNode> me = owner.tailnet().node(nodeId);
            if (me.isEmpty()) {
                sink.finish();
                return;
            }
            known.clear();
            sentRoutes.clear();
            MapSessions.FullMap full = owner.fullMap(me.get(), capVer, known, sentRoutes);
            MapResponse r = full.msg();
            sentFilter = r.packetFilter();
            sentSsh = r.sshPolicy();
            sentSelfRoutes = routesOf(r.node());
            sentAttrs = owner.policy().nodeAttrs(me.get());
            sentDns = r.dnsConfig();
            sentDerp = r.derpMap();
            fullSent = true;
            EncodedMapResponse encoded = new EncodedMapResponse(r, full.runs());
            if (built != null) built.accept(encoded.length(sink.zstd()));
            Runnable w = written;
            written = null; // the sink runs it from here on
            sink.send(encoded, w == null ? () -> {} : w);
            rearmKeepAlive();
            ControlMetrics m = owner.metricsOrNull();
            if (m != null) m.mapResponses.labelValues("full").inc();
        } finally {
            if (written != null) written.run();
        }
    }

    synchronized void enqueue(ChangeBatch batch) {
        if (ended) return;
        if (batch.removedAtAll().contains(nodeId)) {
            // Deleted while connected: end the stream; the client will find itself unregistered.
            sink.finish();
            return;
        }
        pending = pending == null ? batch : pending.then(batch);
        if (!dirty) {
            dirty = true;
            pendingSince = System.nanoTime();
        }
    }

    /**
     * Sends what is pending as one delta (or a full map, if one was asked for). A delta of peers alone is encoded
     * once per tick for all sessions that get the same one ({@code shared}).
     */
    synchronized void flush(SharedDeltas shared) {
        if (!dirty) return;
        dirty = false;
        ChangeBatch batch = pending;
        pending = null;
        if (ended || !sink.isOpen() || batch == null) return;
        if (!fullSent) return; // the full map, still to come, has these changes
        try {
            if (batch.full()) {
                sendFull();
                return;
            }
            if (shared != null && batch.onlyPatches() && !batch.touched().contains(nodeId) && batch.knowsAllPatched(known)) {
                // What the general path below would send, with the entries looked up once for all sessions.
                List<PeerChange> patches = batch.sharedPatches(id -> owner.tailnet().node(id).map(owner::patch));
                if (patches.isEmpty()) return;
                sink.send(shared.get(new SharedDeltas.Key(List.of(), List.of(), patches, List.of()),
                        () -> MapResponse.builder().peersChangedPatch(patches).build()));
                rearmKeepAlive();
                countDelta();
                return;
            }
            // The batch's sets are shared: this session's own node is skipped in them, and the policy below adds to
            // a copy of its own.
            Set<Long> changed = batch.changed();
            Set<Long> patched = batch.patched();
            Set<Long> removed = batch.removed();
            Optional<TailnetNode> meOpt = owner.tailnet().node(nodeId);
            if (meOpt.isEmpty()) {
                sink.finish();
                return;
            }
            TailnetNode me = meOpt.get();
            PacketPolicy pol = owner.policy();
            List<dev.lattice.wire.tailcfg.Node> peersChanged = new ArrayList<>();
            List<Long> peersRemoved = new ArrayList<>();
            List<PeerChange> patches = new ArrayList<>();
            Map<Long, UserProfile> profiles = new LinkedHashMap<>();
            List<FilterRule> newFilter = null;
            JsonNode newSsh = null;
            boolean sendSelf = batch.touched().contains(nodeId);
            DNSConfig newDns = null;
            if (batch.dns() || sendSelf) {
                // A client replaces its whole DNS config with any it is sent, so a delta carries all of it. The node's
                // own changes count too: a rename changes its CertDomains.
                DNSConfig d = owner.dnsConfigFor(me);
                if (d != null && !d.equals(sentDns)) newDns = d;
            }
            DERPMap newDerp = null;
            if (batch.derp()) {
                DERPMap m = owner.derpMap();
                if (m != null && !m.equals(sentDerp)) newDerp = m;
            }
            if (batch.policy()) {
                changed = new LinkedHashSet<>(changed);
                // Peers that appear or go, and known peers whose usable routes changed for this viewer.
                List<TailnetNode> all = owner.tailnet().nodes();
                BitSet visible = pol.visiblePeers(me, all);
                visible.clear(bit(nodeId));
                BitSet flipped = (BitSet) visible.clone();
                flipped.xor(known); // appeared, or not visible any more (removed below)
                for (int i = flipped.nextSetBit(0); i >= 0; i = flipped.nextSetBit(i + 1)) changed.add((long) i);
                // Still visible, but the routes usable through it changed: only peers that serve routes or were sent some.
                BitSet recheck = new BitSet();
                for (TailnetNode r : owner.tailnet().routers()) recheck.set(bit(r.id()));
                for (long id : sentRoutes.keySet()) recheck.set(bit(id));
                recheck.and(known);
                recheck.and(visible);
                Set<Long> more = changed;
                for (int i = recheck.nextSetBit(0); i >= 0; i = recheck.nextSetBit(i + 1)) {
                    long id = i;
                    owner.tailnet().node(id).ifPresent(n -> {
                        if (!owner.routesFor(me, n, pol).equals(sentRoutes.getOrDefault(id, List.of()))) more.add(id);
                    });
                }
                List<FilterRule> f = pol.filterFor(me);
                if (!f.equals(sentFilter)) newFilter = f;
                JsonNode ssh = pol.sshPolicyFor(me);
                // A client keeps its SSH policy until told another: revoke with an empty one, never by omission.
                if (ssh == null && sentSsh != null) ssh = EMPTY_SSH;
                if (ssh != null && !ssh.equals(sentSsh)) newSsh = ssh;
                if (!owner.selfRoutes(me, pol).equals(sentSelfRoutes)) sendSelf = true;
                if (!pol.nodeAttrs(me).equals(sentAttrs)) sendSelf = true;
            }
            for (long id : changed) {
                if (id == nodeId) continue;
                Optional<TailnetNode> n = owner.tailnet().node(id);
                if (n.isPresent() && pol.canSee(me, n.get())) {
                    dev.lattice.wire.tailcfg.Node tn = owner.peerNode(me, n.get(), capVer, pol);
                    peersChanged.add(tn);
                    owner.addProfile(profiles, n.get());
                    remember(tn);
                } else if (forget(id)) {
                    peersRemoved.add(id);
                }
            }
            for (long id : patched) {
                if (id == nodeId || changed.contains(id) || !known.get(bit(id))) continue;
                owner.tailnet().node(id).ifPresent(n -> patches.add(owner.patch(n)));
            }
            for (long id : removed) {
                if (id != nodeId && forget(id)) peersRemoved.add(id);
            }
            if (peersChanged.isEmpty() && peersRemoved.isEmpty() && patches.isEmpty() && !sendSelf && newFilter == null
                    && newSsh == null && newDns == null && newDerp == null) {
                return;
            }
            MapResponse.Builder b = MapResponse.builder();
            if (sendSelf) {
                dev.lattice.wire.tailcfg.Node selfNode = owner.selfNode(me, capVer, pol);
                sentSelfRoutes = routesOf(selfNode);
                sentAttrs = pol.nodeAttrs(me);
                b.node(selfNode);
            }
            if (newFilter != null) {
                b.packetFilter(newFilter);
                sentFilter = newFilter;
            }
            if (newSsh != null) {
                b.sshPolicy(newSsh);
                sentSsh = newSsh;
            }
            if (newDns != null) {
                b.dnsConfig(newDns);
                sentDns = newDns;
            }
            if (newDerp != null) {
                b.derpMap(newDerp);
                sentDerp = newDerp;
            }
            if (!peersChanged.isEmpty()) b.peersChanged(peersChanged);
            if (!peersRemoved.isEmpty()) b.peersRemoved(peersRemoved);
            if (!patches.isEmpty()) b.peersChangedPatch(patches);
            if (!profiles.isEmpty()) b.userProfiles(new ArrayList<>(profiles.values()));
            boolean peersOnly = !sendSelf && newFilter == null && newSsh == null && newDns == null && newDerp == null;
            if (peersOnly && shared != null) {
                sink.send(shared.get(new SharedDeltas.Key(peersChanged, peersRemoved, patches,
                        List.copyOf(profiles.values())), b::build));
                rearmKeepAlive();
            } else {
                send(b.build());
            }
            countDelta();
        } catch (RuntimeException e) {
            MapSessions.log().warn("map update for node {} failed; closing its stream", nodeId, e);
            sink.finish();
        } finally {
            owner.flushed();
        }
    }

    private void countDelta() {
        ControlMetrics m = owner.metricsOrNull();
        if (m != null) {
            m.mapResponses.labelValues("delta").inc();
            m.mapUpdateLatency.observe((System.nanoTime() - pendingSince) / 1e9);
        }
    }

    private static int bit(long nodeId) {
        return Math.toIntExact(nodeId); // store ids are sequential; beyond 2^31 nodes we would need another index
    }

    private boolean forget(long id) {
        boolean had = known.get(bit(id));
        known.clear(bit(id));
        sentRoutes.remove(id);
        return had;
    }

    /** Notes a peer as sent, with the routes it was sent with. */
    private void remember(dev.lattice.wire.tailcfg.Node peer) {
        known.set(bit(peer.id()));
        List<IpPrefix> routes = routesOf(peer);
        // Checked first: a full map remembers every peer, nearly all without routes, and the map is nearly always empty.
        if (routes.isEmpty()) {
            if (!sentRoutes.isEmpty()) sentRoutes.remove(peer.id());
        }
        else sentRoutes.put(peer.id(), routes);
    }

    /** A sent node's routes: its AllowedIPs after its addresses (TailcfgNodes puts them in that order). */
    private static List<IpPrefix> routesOf(dev.lattice.wire.tailcfg.Node n) {
        List<IpPrefix> allowed = n.allowedIps() == null ? List.of() : n.allowedIps();
        int addrs = n.addresses() == null ? 0 : n.addresses().size();
        return allowed.size() <= addrs ? List.of() : List.copyOf(allowed.subList(addrs, allowed.size()));
    }



    private void send(MapResponse r) {
        sink.send(r);
        rearmKeepAlive();
    }

    /**
     * Notes that the client heard from us now. The keep-alive check is not moved: one timer per session looks at
     * when the client last heard something and sleeps on until it could be due (moving the timer at every message
     * cost a restart storm two cancelled tasks and a heap sift per message: millions of them queued at 10,000 nodes).
     */
    private void rearmKeepAlive() {
        lastSent = System.nanoTime();
        if (keepAlive == null && !ended) {
            synchronized (this) {
                if (keepAlive == null) scheduleKeepAliveCheck(quietNanos);
            }
        }
    }

    private synchronized void scheduleKeepAliveCheck(long delayNanos) {
        if (ended) return;
        keepAlive = owner.timers().schedule(this::keepAliveDue, delayNanos, TimeUnit.NANOSECONDS);
        // cancelTimers takes no lock: if it ran meanwhile, it may have missed this one.
        if (ended) keepAlive.cancel(false);
    }

    private synchronized void keepAliveDue() {
        if (ended || !sink.isOpen()) return;
        long silent = System.nanoTime() - lastSent;
        if (silent < quietNanos) {
            scheduleKeepAliveCheck(quietNanos - silent);
            return;
        }
        sink.send(KEEPALIVE_MSG);
        lastSent = System.nanoTime();
        quietNanos = owner.keepAliveQuietNanos();
        // Acknowledged at the transport: a client whose link was cut answers nothing, and its stream ends (and the
        // node goes offline) within the keep-alive period plus this, not when TCP gives up a quarter of an hour later.
        sink.ping(MapSessions.KEEPALIVE_ACK_TIMEOUT).whenComplete((rtt, err) -> {
            if (err instanceof java.util.concurrent.TimeoutException) {
                MapSessions.log().debug("node {}: keep-alive PING not acknowledged within {} ms; its connection is closed",
                        nodeId, MapSessions.KEEPALIVE_ACK_TIMEOUT.toMillis());
            }
        });
        scheduleKeepAliveCheck(quietNanos);
    }

    /**
     * The stream closed: cancels the pending flush and keep-alive, and schedules none after. Without the session's
     * lock: it runs on the connection's event loop, which must not wait for a full map being built under that lock.
     */
    void cancelTimers() {
        ended = true;
        ScheduledFuture<?> k = keepAlive;
        if (k != null) k.cancel(false);
    }
}
