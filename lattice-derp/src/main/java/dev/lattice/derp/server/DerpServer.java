package dev.lattice.derp.server;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.derp.Derp;
import dev.lattice.wire.derp.DerpFrame;
import dev.lattice.wire.derp.MeshKey;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A DERP relay (tailscale {@code derp/derpserver}). Clients are addressed by node key; the relay never looks inside
 * packets except to spot the disco magic (those get their own queue so path discovery survives congestion).
 *
 * <p>Threading: each connection lives on its Netty event loop. Routing a packet reads the client table without
 * locking; registration, mesh state and peer-gone bookkeeping change under {@code lock}. A packet for another
 * connection is put on that connection's bounded queue, and its own event loop writes it: a slow reader only ever
 * fills its own queue (oldest dropped, counted) and is disconnected once its socket stays unwritable past the write
 * timeout.
 *
 * <p>Embedding: put {@link #httpHandler()} after {@code HttpServerCodec} + {@code HttpObjectAggregator}.
 */
public final class DerpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DerpServer.class);

    /** Why a packet was not delivered; counted in {@link Stats#drops()}. */
    public enum DropReason { UNKNOWN_DEST, UNKNOWN_DEST_ON_FWD, GONE_DISCONNECTED, QUEUE_HEAD, QUEUE_TAIL, WRITE_ERROR, DUP_CLIENT }

    private final NodePrivateKey privateKey;
    private final NodePublicKey publicKey;
    private final DerpServerOptions options;
    private final DerpHttpHandler httpHandler;

    final Object lock = new Object();
    /** Local clients; values are mutated only under {@link #lock}, read lock-free on the packet path. */
    private final ConcurrentHashMap<NodePublicKey, ClientSet> clients = new ConcurrentHashMap<>();
    /** Clients known to be on other servers of the region (guarded by lock for writes). */
    private final ConcurrentHashMap<NodePublicKey, List<PacketForwarder>> forwarders = new ConcurrentHashMap<>();
    private final Set<ServerConnection> watchers = new LinkedHashSet<>();
    private final Map<NodePublicKey, Set<ServerConnection>> peerGoneWatchers = new HashMap<>();
    private final Set<ServerConnection> all = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    final LongAdder accepts = new LongAdder();
    final LongAdder packetsRecv = new LongAdder();
    final LongAdder bytesRecv = new LongAdder();
    final LongAdder packetsSent = new LongAdder();
    final LongAdder bytesSent = new LongAdder();
    final LongAdder packetsForwardedOut = new LongAdder();
    final LongAdder packetsForwardedIn = new LongAdder();
    final LongAdder peerGoneFrames = new LongAdder();
    final LongAdder unknownFrames = new LongAdder();
    final LongAdder writeTimeouts = new LongAdder();
    final LongAdder refused = new LongAdder();
    final LongAdder protocolErrors = new LongAdder();
    final LongAdder homeClients = new LongAdder();
    final LongAdder webSocketAccepts = new LongAdder();
    private final EnumMap<DropReason, LongAdder> drops = new EnumMap<>(DropReason.class);

    public DerpServer(NodePrivateKey privateKey, DerpServerOptions options) {
        this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
        this.publicKey = privateKey.publicKey();
        this.options = Objects.requireNonNull(options, "options");
        for (DropReason r : DropReason.values()) drops.put(r, new LongAdder());
        this.httpHandler = new DerpHttpHandler(this);
    }

    public DerpServer(NodePrivateKey privateKey) {
        this(privateKey, DerpServerOptions.defaults());
    }

    /**
     * The {@code @Sharable} HTTP handler: serves {@code /derp} (upgrade), {@code /derp/probe},
     * {@code /derp/latency-check} and {@code /generate_204}; passes every other request on.
     */
    public ChannelHandler httpHandler() {
        return httpHandler;
    }

    public NodePublicKey publicKey() {
        return publicKey;
    }

    /** The server's key; mesh links connect to their peers with it (as Go's derper does). */
    public NodePrivateKey privateKey() {
        return privateKey;
    }

    public DerpServerOptions options() {
        return options;
    }

    public MeshKey meshKey() {
        return options.meshKey();
    }

    boolean isMeshKey(MeshKey k) {
        return k != null && options.meshKey() != null && !k.isZero() && options.meshKey().equals(k);
    }

    public boolean isClosed() {
        return closed;
    }

    /** Whether a client with this key is connected here (not via the mesh). */
    public boolean isLocal(NodePublicKey k) {
        ClientSet s = clients.get(k);
        return s != null && s.active != null;
    }

    /** Whether packets for this key can be delivered: connected here or, through the mesh, to a peer server. */
    public boolean hasRoute(NodePublicKey k) {
        return isLocal(k) || forwarders.containsKey(k);
    }

    // ---- registration ----

    void register(ServerConnection c) {
        List<Runnable> notify = new ArrayList<>();
        synchronized (lock) {
            if (closed) {
                c.close();
                return;
            }
            ClientSet set = clients.computeIfAbsent(c.key, k -> new ClientSet());
            set.conns.add(c);
            set.active = c; // the newest connection of a key gets traffic until another one speaks
            for (ServerConnection w : watchers) {
                DerpFrame f = new DerpFrame.PeerPresent(c.key, c.remote, c.presentFlags());
                notify.add(() -> w.sendControl(f));
            }
        }
        all.add(c);
        notify.forEach(Runnable::run);
    }

    void unregister(ServerConnection c) {
        all.remove(c);
        List<Runnable> notify = new ArrayList<>();
        synchronized (lock) {
            watchers.remove(c);
            for (NodePublicKey src : c.sawSrc) {
                Set<ServerConnection> s = peerGoneWatchers.get(src);
                if (s != null && s.remove(c) && s.isEmpty()) peerGoneWatchers.remove(src);
            }
            ClientSet set = clients.get(c.key);
            if (set == null || !set.conns.remove(c)) return;
            if (!set.conns.isEmpty()) {
                if (set.active == c) set.active = set.conns.getLast();
                return;
            }
            set.active = null;
            clients.remove(c.key, set);
            for (ServerConnection w : watchers) {
                DerpFrame f = new DerpFrame.PeerGone(c.key, Derp.PEER_GONE_DISCONNECTED);
                notify.add(() -> w.sendControl(f));
            }
            if (!forwarders.containsKey(c.key)) notePeerGoneFromRegionLocked(c.key, notify);
        }
        notify.forEach(Runnable::run);
    }

    /** A duplicate connection of a key that speaks becomes the one that receives (Go's lastWriterIsActive). */
    void noteActivity(ServerConnection c) {
        ClientSet set = clients.get(c.key);
        if (set == null || set.active == c || set.conns.size() < 2) return;
        synchronized (lock) {
            if (set.conns.contains(c)) set.active = c;
        }
    }

    private void notePeerGoneFromRegionLocked(NodePublicKey key, List<Runnable> notify) {
        Set<ServerConnection> ws = peerGoneWatchers.remove(key);
        if (ws == null) return;
        for (ServerConnection w : ws) {
            w.sawSrc.remove(key);
            notify.add(() -> w.sendPeerGone(key, Derp.PEER_GONE_DISCONNECTED));
        }
    }

    /** Called on c's event loop the first time c receives a packet from src. */
    void addPeerGoneWatcher(NodePublicKey src, ServerConnection c) {
        synchronized (lock) {
            peerGoneWatchers.computeIfAbsent(src, k -> new HashSet<>()).add(c);
        }
    }

    void addWatcher(ServerConnection c) {
        if (c.key.equals(publicKey)) return; // a mesh connection to ourselves
        List<DerpFrame> initial = new ArrayList<>();
        synchronized (lock) {
            for (var e : clients.entrySet()) {
                ServerConnection a = e.getValue().active;
                if (a != null) initial.add(new DerpFrame.PeerPresent(e.getKey(), a.remote, a.presentFlags()));
            }
            watchers.add(c);
        }
        initial.forEach(c::sendControl);
    }

    void closePeer(NodePublicKey target) {
        ClientSet set = clients.get(target);
        if (set == null) return;
        List<ServerConnection> conns;
        synchronized (lock) {
            conns = List.copyOf(set.conns);
        }
        conns.forEach(ServerConnection::close);
    }

    // ---- packet routing ----

    /** Routes a packet from a local client; takes ownership of {@code packet}. */
    void route(ServerConnection from, NodePublicKey dst, ByteBuf packet) {
        ClientSet set = clients.get(dst);
        ServerConnection to = set == null ? null : set.active;
        if (to != null) {
            to.enqueue(from.key, packet);
            return;
        }
        List<PacketForwarder> fw = forwarders.get(dst);
        if (fw != null && set == null) {
            PacketForwarder f;
            try {
                f = fw.getFirst();
            } catch (java.util.NoSuchElementException e) {
                f = null;
            }
            if (f != null) {
                packetsForwardedOut.increment();
                f.forwardPacket(from.key, dst, packet);
                return;
            }
        }
        boolean disco = dev.lattice.derp.transport.Frames.looksLikeDisco(packet, packet.readerIndex(), packet.readableBytes());
        packet.release();
        recordDrop(set != null ? DropReason.DUP_CLIENT : DropReason.UNKNOWN_DEST);
        if (disco && set == null) from.sendPeerGoneLimited(dst, Derp.PEER_GONE_NOT_HERE);
    }

    /** Delivers a packet forwarded by a mesh peer to a local client only (never re-forwarded). */
    void deliverForwarded(ServerConnection via, NodePublicKey src, NodePublicKey dst, ByteBuf packet) {
        packetsForwardedIn.increment();
        ClientSet set = clients.get(dst);
        ServerConnection to = set == null ? null : set.active;
        if (to == null) {
            packet.release();
            recordDrop(DropReason.UNKNOWN_DEST_ON_FWD);
            return;
        }
        to.enqueue(src, packet);
    }

    void recordDrop(DropReason r) {
        drops.get(r).increment();
    }

    /**
     * Registers a mesh route: packets for {@code dst}, when it is not connected here, go to {@code fwd}. The first
     * registered forwarder of a key is used until it is removed.
     */
    public void addPacketForwarder(NodePublicKey dst, PacketForwarder fwd) {
        synchronized (lock) {
            List<PacketForwarder> l = forwarders.get(dst);
            if (l == null) {
                forwarders.put(dst, new java.util.concurrent.CopyOnWriteArrayList<>(List.of(fwd)));
            } else if (!l.contains(fwd)) {
                l.add(fwd);
            }
        }
    }

    public void removePacketForwarder(NodePublicKey dst, PacketForwarder fwd) {
        List<Runnable> notify = new ArrayList<>();
        synchronized (lock) {
            List<PacketForwarder> l = forwarders.get(dst);
            if (l == null || !l.remove(fwd) || !l.isEmpty()) return;
            forwarders.remove(dst);
            if (!clients.containsKey(dst)) notePeerGoneFromRegionLocked(dst, notify);
        }
        notify.forEach(Runnable::run);
    }

    // ---- lifecycle ----

    void track(ServerConnection c) {
        accepts.increment();
    }

    /** Closes every connection; the server accepts no more. */
    @Override
    public void close() {
        shutdown(null, null);
    }

    /**
     * Tells every client the server is restarting (Restarting frame: reconnect after {@code reconnectIn}, keep trying
     * for {@code tryFor}) and closes the connections. Nulls skip the frame.
     */
    public void shutdown(Duration reconnectIn, Duration tryFor) {
        synchronized (lock) {
            closed = true;
        }
        for (ServerConnection c : List.copyOf(all)) {
            if (reconnectIn != null && tryFor != null) {
                c.sendControlAndClose(new DerpFrame.Restarting(reconnectIn.toMillis(), tryFor.toMillis()));
            } else {
                c.close();
            }
        }
        log.info("DERP server {} closed", publicKey);
    }

    /** Counters since start. */
    public record Stats(long accepts, int currentClients, long currentHomeClients, long packetsReceived,
                        long bytesReceived, long packetsSent, long bytesSent, long packetsForwardedOut,
                        long packetsForwardedIn, long peerGoneFrames, long unknownFrames, long writeTimeouts,
                        long refused, long protocolErrors, Map<DropReason, Long> drops) {
        public long dropsTotal() {
            return drops.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /** DERP connections that came in over a WebSocket. */
    public long webSocketAccepts() {
        return webSocketAccepts.sum();
    }

    public Stats stats() {
        EnumMap<DropReason, Long> d = new EnumMap<>(DropReason.class);
        drops.forEach((k, v) -> d.put(k, v.sum()));
        return new Stats(accepts.sum(), all.size(), homeClients.sum(), packetsRecv.sum(), bytesRecv.sum(),
                packetsSent.sum(), bytesSent.sum(), packetsForwardedOut.sum(), packetsForwardedIn.sum(),
                peerGoneFrames.sum(), unknownFrames.sum(), writeTimeouts.sum(), refused.sum(), protocolErrors.sum(), Map.copyOf(d));
    }

    static InetSocketAddress inet(java.net.SocketAddress a) {
        return a instanceof InetSocketAddress i ? i : null;
    }

    /** All connections of one key: usually one; the active one receives. */
    static final class ClientSet {
        final List<ServerConnection> conns = new ArrayList<>(1);
        volatile ServerConnection active;
    }
}
