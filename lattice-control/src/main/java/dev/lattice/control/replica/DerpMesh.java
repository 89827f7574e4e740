package dev.lattice.control.replica;

import dev.lattice.control.store.Replicas;
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
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded DERP servers of the replicas on one PostgreSQL database, made one region. This replica's
 * {@link ReplicaHeartbeat} carries its URL and DERP node into its row in {@link Replicas}; after each beat this reads
 * the rows of the live ones; with each other live replica it keeps a mesh link ({@link MeshPeer}, Tailscale's derper
 * {@code --mesh-with}), so a packet for a client homed on another replica is forwarded there. A replica whose
 * heartbeat is older than {@code lapse} drops out: its link is closed and it leaves the region's nodes.
 *
 * <p>{@link #nodes()} is the region's node list this replica serves: itself first, so its own clients home on its
 * DERP server, then the others in URL order. Nodes are named after the region and their place in URL order
 * ({@code 999a}, {@code 999b}, as Tailscale names its nodes); a lone replica's node keeps the region's name.
 */
public final class DerpMesh implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DerpMesh.class);
    /**
     * A replica not heard from for this long is out of the region: with a 2 s heartbeat a dead replica leaves the
     * map within 10 s, shorter than the sessions' lapse, since a listed dead server costs every client failed dials.
     */
    public static final Duration LAPSE = Duration.ofSeconds(8);
    private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final Replicas table;
    private final ReplicaHeartbeat heartbeat;
    private final DerpServer server;
    private final URI ownUrl;
    private final DERPNode ownNode;
    private final String ownJson;
    private final Runnable nodesChanged;
    private final Duration lapse;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    // Changed by the timer thread (and close) under this; read lock-free, so a scrape never waits for the database.
    private final Map<URI, MeshPeer> peers = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile List<DERPNode> nodes;
    private final long startedNanos = System.nanoTime();
    private long lastWarn = System.nanoTime() - WARN_EVERY_NANOS;
    private volatile boolean closed;

    /**
     * @param ownUrl where clients and replicas reach this replica's DERP server ({@code derp.server.url})
     * @param ownNode this replica's node of the region, as a lone server would list it
     * @param nodesChanged told (on the mesh thread) when {@link #nodes()} changed
     */
    public DerpMesh(Replicas table, ReplicaHeartbeat heartbeat, DerpServer server, URI ownUrl, DERPNode ownNode,
            Runnable nodesChanged, Duration lapse) {
        this.table = Objects.requireNonNull(table, "table");
        this.heartbeat = Objects.requireNonNull(heartbeat, "heartbeat");
        this.server = Objects.requireNonNull(server, "server");
        if (server.meshKey() == null) throw new IllegalArgumentException("the DERP server has no mesh key");
        this.ownUrl = ownUrl.normalize();
        this.ownNode = ownNode;
        this.ownJson = Tailcfg.json().writeValueAsString(ownNode);
        this.nodesChanged = nodesChanged;
        this.lapse = lapse;
        this.nodes = List.of(ownNode);
    }

    public DerpMesh start() {
        heartbeat.afterBeat(rejoined -> tickQuietly());
        heartbeat.advertiseDerp(new Replicas.Derp(ownUrl, ownJson)); // beats at once: the others may link from now on
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
            log.warn("DERP mesh: reading the replicas failed: {}", e.toString());
        }
    }

    synchronized void tick() {
        if (closed) return;
        List<Replicas.DerpEntry> live = table.liveDerp(lapse);
        Map<URI, Replicas.DerpEntry> wanted = new HashMap<>();
        for (Replicas.DerpEntry e : live) {
            URI u = e.derp().url().normalize();
            if (u.equals(ownUrl)) {
                // A row of this URL that is not this replica's and still beats after a lapse (an earlier process at
                // this address has lapsed by then) is a second live replica at one address.
                if (!e.replica().equals(table.replicaId()) && System.nanoTime() - startedNanos > lapse.toNanos()
                        && System.nanoTime() - lastWarn > WARN_EVERY_NANOS) {
                    lastWarn = System.nanoTime();
                    log.warn("DERP mesh: another replica ({}) also registers derp.server.url {}; give each replica its own"
                            + " (its own address), or clients on the two cannot reach each other through DERP", e.replica(), ownUrl);
                }
                continue;
            }
            wanted.putIfAbsent(u, e);
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
    private List<DERPNode> name(List<Replicas.DerpEntry> live) {
        List<URI> order = new ArrayList<>();
        Map<URI, DERPNode> byUrl = new HashMap<>();
        byUrl.put(ownUrl, ownNode);
        for (Replicas.DerpEntry e : live) {
            URI u = e.derp().url().normalize();
            if (u.equals(ownUrl) || byUrl.containsKey(u)) continue;
            try {
                byUrl.put(u, Tailcfg.json().readValue(e.derp().nodeJson(), DERPNode.class));
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

    /** Leaves the region: the heartbeat writes no DERP server any more (the others unlink at their next read) and the links close. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        heartbeat.advertiseDerp(null);
        synchronized (this) {
            peers.values().forEach(MeshPeer::close);
            peers.clear();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
