package dev.lattice.control.replica;

import dev.lattice.control.store.DerpReplicas;
import dev.lattice.derp.client.DerpClientOptions;
import dev.lattice.derp.mesh.MeshPeer;
import dev.lattice.derp.server.DerpServer;
import dev.lattice.wire.tailcfg.DERPNode;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded DERP servers of the replicas on one PostgreSQL database, made one region. Every {@code heartbeat}
 * this replica writes its row in {@link DerpReplicas} (its URL and DERP node, on the database's clock) and reads the
 * rows of the live ones; with each other live replica it keeps a mesh link ({@link MeshPeer}, Tailscale's derper
 * {@code --mesh-with}), so a packet for a client homed on another replica is forwarded there. A replica whose
 * heartbeat is older than {@code lapse} drops out: its link is closed and it leaves the region's nodes.
 *
 * <p>{@link #nodes()} is the region's node list this replica serves: itself first, so its own clients home on its
 * DERP server, then the others in URL order. Nodes are named after the region and their place in URL order
 * ({@code 999a}, {@code 999b}, as Tailscale names its nodes); a lone replica's node keeps the region's name.
 */
public final class DerpMesh implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DerpMesh.class);
    /** How often the row is written and the others read. */
    public static final Duration HEARTBEAT = Duration.ofSeconds(2);
    /** A replica not heard from for this long is out of the region. */
    public static final Duration LAPSE = Duration.ofSeconds(8);
    private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final DerpReplicas table;
    private final DerpServer server;
    private final URI ownUrl;
    private final DERPNode ownNode;
    private final String ownJson;
    private final Runnable nodesChanged;
    private final Duration heartbeat;
    private final Duration lapse;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("derp-mesh").daemon().factory());
    // Changed by the timer thread (and close) under this; read lock-free, so a scrape never waits for the database.
    private final Map<URI, MeshPeer> peers = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile List<DERPNode> nodes;
    private boolean beaten; // this replica has written its row before
    private long lastWarn = System.nanoTime() - WARN_EVERY_NANOS;
    private volatile boolean closed;

    /**
     * @param ownUrl where clients and replicas reach this replica's DERP server ({@code derp.server.url})
     * @param ownNode this replica's node of the region, as a lone server would list it
     * @param nodesChanged told (on the mesh thread) when {@link #nodes()} changed
     */
    public DerpMesh(DerpReplicas table, DerpServer server, URI ownUrl, DERPNode ownNode, Runnable nodesChanged,
            Duration heartbeat, Duration lapse) {
        this.table = Objects.requireNonNull(table, "table");
        this.server = Objects.requireNonNull(server, "server");
        if (server.meshKey() == null) throw new IllegalArgumentException("the DERP server has no mesh key");
        this.ownUrl = ownUrl.normalize();
        this.ownNode = ownNode;
        this.ownJson = Tailcfg.json().writeValueAsString(ownNode);
        this.nodesChanged = nodesChanged;
        this.heartbeat = heartbeat;
        this.lapse = lapse;
        this.nodes = List.of(ownNode);
    }

    public DerpMesh start() {
        timer.scheduleWithFixedDelay(this::tickQuietly, 0, heartbeat.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** The region's nodes as this replica serves them: itself first. */
    public List<DERPNode> nodes() {
        return nodes;
    }

    /** The URLs of the replicas this one keeps a mesh link with. */
    public List<URI> peers() {
        return List.copyOf(peers.keySet());
    }

    /** Clients of other replicas reachable through the mesh links now. */
    public int routes() {
        return peers.values().stream().mapToInt(MeshPeer::routes).sum();
    }

    private void tickQuietly() {
        try {
            tick();
        } catch (RuntimeException e) {
            // The database is away: keep the links and nodes as they were; the others' rows will lapse on their side
            // as ours does on theirs, and the next heartbeat that gets through puts everything right.
            log.warn("DERP mesh: heartbeat failed: {}", e.toString());
        }
    }

    synchronized void tick() {
        if (closed) return;
        String before = table.heartbeat(ownUrl, ownJson);
        if (beaten && before != null && !before.equals(table.replicaId()) && System.nanoTime() - lastWarn > WARN_EVERY_NANOS) {
            lastWarn = System.nanoTime();
            log.warn("DERP mesh: another replica ({}) also registers derp.server.url {}; give each replica its own"
                    + " (its own address), or clients on the two cannot reach each other through DERP", before, ownUrl);
        }
        beaten = true;
        List<DerpReplicas.Entry> live = table.live(lapse);
        Map<URI, DerpReplicas.Entry> wanted = new HashMap<>();
        for (DerpReplicas.Entry e : live) {
            if (e.url().normalize().equals(ownUrl)) continue;
            wanted.put(e.url().normalize(), e);
        }
        for (var it = peers.entrySet().iterator(); it.hasNext(); ) {
            var p = it.next();
            if (wanted.containsKey(p.getKey())) continue;
            log.info("DERP mesh: replica {} left (stopped, or no heartbeat for {} s); unlinking", p.getKey(), lapse.toSeconds());
            p.getValue().close();
            it.remove();
        }
        for (URI u : wanted.keySet()) {
            if (peers.containsKey(u)) continue;
            log.info("DERP mesh: linking with replica {}", u);
            peers.put(u, new MeshPeer(server, u.resolve("/derp"), DerpClientOptions.defaults(), group).start());
        }
        List<DERPNode> next = name(live);
        if (!next.equals(nodes)) {
            nodes = next;
            nodesChanged.run();
        }
    }

    /** This node first, then the others; each named after its place among all in URL order. */
    private List<DERPNode> name(List<DerpReplicas.Entry> live) {
        List<URI> order = new ArrayList<>();
        Map<URI, DERPNode> byUrl = new HashMap<>();
        byUrl.put(ownUrl, ownNode);
        for (DerpReplicas.Entry e : live) {
            URI u = e.url().normalize();
            if (u.equals(ownUrl)) continue;
            try {
                byUrl.put(u, Tailcfg.json().readValue(e.nodeJson(), DERPNode.class));
            } catch (RuntimeException ex) {
                log.warn("DERP mesh: replica {} stored a node that does not parse; leaving it out of the map: {}", u, ex.toString());
            }
        }
        order.addAll(byUrl.keySet());
        order.sort(null);
        if (order.size() == 1) return List.of(ownNode);
        List<DERPNode> out = new ArrayList<>();
        for (int i = 0; i < order.size(); i++) {
            URI u = order.get(i);
            DERPNode n = byUrl.get(u).toBuilder().name(ownNode.name() + suffix(i)).regionId(ownNode.regionId()).build();
            if (u.equals(ownUrl)) out.addFirst(n);
            else out.add(n);
        }
        return List.copyOf(out);
    }

    /** a…z, then aa, ab… */
    static String suffix(int i) {
        return i < 26 ? String.valueOf((char) ('a' + i)) : suffix(i / 26 - 1) + (char) ('a' + i % 26);
    }

    /** Leaves the region: the row is deleted (the others unlink at their next heartbeat) and the links closed. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        timer.shutdownNow();
        synchronized (this) {
            peers.values().forEach(MeshPeer::close);
            peers.clear();
        }
        try {
            if (beaten) table.remove(ownUrl);
        } catch (RuntimeException e) {
            log.debug("DERP mesh: could not remove this replica's row: {}", e.toString());
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
