package dev.lattice.derp.server;

import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.derp.transport.Frames;
import dev.lattice.derp.transport.RawFrame;
import dev.lattice.wire.derp.ClientInfo;
import dev.lattice.wire.derp.Derp;
import dev.lattice.wire.derp.DerpFrame;
import dev.lattice.wire.derp.DerpProtocolException;
import dev.lattice.wire.derp.ServerInfo;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.DecoderException;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import dev.lattice.guard.ConnectionGuard;
import dev.lattice.guard.LogLimiter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection after the HTTP upgrade: handshake (ServerKey → ClientInfo → verify → ServerInfo), then frames.
 * Everything but {@link #enqueue}, {@link #sendControl} and {@link #close} runs on the channel's event loop.
 */
final class ServerConnection extends ChannelDuplexHandler {
    private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
    /** Lines about what strangers send: one per source a minute, so a flood of bad clients cannot flood the log. */
    private static final LogLimiter strangers = LogLimiter.perMinute(log);

    private enum State { HANDSHAKE, VERIFYING, RUNNING, CLOSED }

    private final DerpServer server;
    final InetSocketAddress remote;
    private final boolean notIdeal;
    private ChannelHandlerContext ctx;
    private State state = State.HANDSHAKE;
    volatile NodePublicKey key;
    private ClientInfo info;
    private boolean canMesh;
    private boolean preferred;

    /** Senders seen, for PeerGone when they leave; event-loop confined (read under server lock at unregister). */
    final Set<NodePublicKey> sawSrc = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final ArrayDeque<Queued> queue = new ArrayDeque<>();
    private final ArrayDeque<Queued> discoQueue = new ArrayDeque<>();
    private boolean drainScheduled;
    private boolean flushScheduled;
    private ScheduledFuture<?> handshakeTimer;
    private ScheduledFuture<?> keepAliveTimer;
    private long unwritableSince;
    private double peerGoneTokens = 3;
    private long peerGoneRefill = System.nanoTime();

    private record Queued(NodePublicKey src, ByteBuf packet) {}

    private final java.util.List<RawFrame> pending = new java.util.ArrayList<>(0);

    ServerConnection(DerpServer server, InetSocketAddress remote, boolean notIdeal) {
        this.server = server;
        this.remote = remote;
        this.notIdeal = notIdeal;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        int high = server.options().writeBufferHighWaterMark();
        ctx.channel().config().setWriteBufferWaterMark(new WriteBufferWaterMark(high / 2, high));
    }

    /** Called by the HTTP handler once the pipeline holds only the DERP handlers. */
    void start() {
        server.track(this);
        ctx.writeAndFlush(Frames.of(new DerpFrame.ServerKey(server.publicKey())));
        long t = server.options().handshakeTimeout().toMillis();
        handshakeTimer = ctx.executor().schedule(() -> {
            if (state == State.HANDSHAKE || state == State.VERIFYING) {
                log.debug("DERP client {} did not finish the handshake in time", remote);
                close();
            }
        }, t, TimeUnit.MILLISECONDS);
        ctx.channel().closeFuture().addListener(f -> ctx.executor().execute(this::onClosed));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof RawFrame f)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            switch (state) {
                case HANDSHAKE -> {
                    // Stop reading until admitted; defer so the upgrade finishes (ServerKey written) first.
                    ctx.channel().config().setAutoRead(false);
                    byte[] payload = Frames.copy(f.payload());
                    int type = f.type();
                    ctx.executor().execute(() -> onClientInfo(type, payload));
                    state = State.VERIFYING;
                }
                case VERIFYING -> {
                    // Go clients send NotePreferred/WatchConns right after ClientInfo without waiting; frames
                    // already read are kept (a bounded few) and handled once the client is admitted.
                    if (pending.size() >= 16) throw new DerpProtocolException("too many frames before the handshake finished");
                    pending.add(new RawFrame(f.type(), f.payload().retain()));
                }
                case RUNNING -> onFrame(f);
                case CLOSED -> {}
            }
        } catch (DerpProtocolException e) {
            protocolError(e);
        } finally {
            f.payload().release();
        }
    }

    private void onClientInfo(int type, byte[] payload) {
        if (state != State.VERIFYING || !ctx.channel().isActive()) return;
        try {
            if (type != Derp.FRAME_CLIENT_INFO) throw new DerpProtocolException("expected ClientInfo, got " + Derp.frameName(type));
            var frame = (DerpFrame.ClientInfoFrame) DerpFrame.decode(type, payload, 0, payload.length);
            ClientInfo ci = ClientInfo.open(frame.sealed(), frame.clientKey(), server.privateKey());
            this.key = frame.clientKey();
            this.info = ci;
            this.canMesh = server.isMeshKey(ci.meshKey());
        } catch (DerpProtocolException e) {
            protocolError(e);
            return;
        }
        if (canMesh) {
            admitted(true);
            return;
        }
        try {
            server.options().verifier().admit(key, remote).toCompletableFuture()
                    .orTimeout(5, TimeUnit.SECONDS)
                    .whenComplete((ok, err) -> ctx.executor().execute(() -> {
                        if (err != null) {
                            strangers.info(sourceOf(), "DERP client {} from {}: verification failed: {}", key, remote, err.toString());
                        }
                        admitted(err == null && Boolean.TRUE.equals(ok));
                    }));
        } catch (RuntimeException e) {
            log.warn("DERP client verifier threw", e);
            admitted(false);
        }
    }

    private void admitted(boolean ok) {
        if (state != State.VERIFYING || !ctx.channel().isActive()) return;
        if (!ok) {
            server.refused.increment();
            strangers.info(sourceOf(), "DERP client {} from {} refused", key, remote);
            close();
            return;
        }
        state = State.RUNNING;
        handshakeTimer.cancel(false);
        // A verified client (or a mesh peer) is no stranger: it leaves its address's cap on anonymous connections.
        if (canMesh || server.options().verifier() != ClientVerifier.ALLOW_ALL) ConnectionGuard.promote(ctx.channel());
        server.register(this);
        ctx.writeAndFlush(Frames.of(new DerpFrame.ServerInfoFrame(ServerInfo.current().seal(key, server.privateKey()))));
        long ka = server.options().keepAlive().toMillis();
        long period = ka + ThreadLocalRandom.current().nextLong(Math.max(1, ka / 12)); // Go: 60 s + up to 5 s
        keepAliveTimer = ctx.executor().scheduleAtFixedRate(this::keepAlive, period, period, TimeUnit.MILLISECONDS);
        try {
            for (RawFrame f : pending) onFrame(f);
        } catch (DerpProtocolException e) {
            protocolError(e);
            return;
        } finally {
            pending.forEach(f -> f.payload().release());
            pending.clear();
        }
        ctx.flush();
        ctx.channel().config().setAutoRead(true);
        ctx.read();
    }

    private void onFrame(RawFrame f) {
        ByteBuf p = f.payload();
        int len = p.readableBytes();
        server.noteActivity(this);
        switch (f.type()) {
            case Derp.FRAME_SEND_PACKET -> {
                if (len < Derp.KEY_LEN) throw new DerpProtocolException("short SendPacket frame");
                if (len - Derp.KEY_LEN > Derp.MAX_PACKET_SIZE) throw new DerpProtocolException("packet too long");
                NodePublicKey dst = Frames.keyAt(p, p.readerIndex());
                server.packetsRecv.increment();
                server.bytesRecv.add(len - Derp.KEY_LEN);
                server.route(this, dst, p.retainedSlice(p.readerIndex() + Derp.KEY_LEN, len - Derp.KEY_LEN));
            }
            case Derp.FRAME_FORWARD_PACKET -> {
                if (!canMesh) throw new DerpProtocolException("ForwardPacket without mesh permission");
                if (len < 2 * Derp.KEY_LEN) throw new DerpProtocolException("short ForwardPacket frame");
                if (len - 2 * Derp.KEY_LEN > Derp.MAX_PACKET_SIZE) throw new DerpProtocolException("packet too long");
                NodePublicKey src = Frames.keyAt(p, p.readerIndex());
                NodePublicKey dst = Frames.keyAt(p, p.readerIndex() + Derp.KEY_LEN);
                server.deliverForwarded(this, src, dst, p.retainedSlice(p.readerIndex() + 2 * Derp.KEY_LEN, len - 2 * Derp.KEY_LEN));
            }
            case Derp.FRAME_NOTE_PREFERRED -> {
                var np = (DerpFrame.NotePreferred) decode(f);
                if (np.preferred() != preferred) {
                    preferred = np.preferred();
                    if (preferred) server.homeClients.increment(); else server.homeClients.decrement();
                }
            }
            case Derp.FRAME_PING -> {
                var ping = (DerpFrame.Ping) decode(f);
                writeControl(new DerpFrame.Pong(ping.data()));
            }
            case Derp.FRAME_WATCH_CONNS -> {
                decode(f);
                if (!canMesh) throw new DerpProtocolException("WatchConns without mesh permission");
                server.addWatcher(this);
            }
            case Derp.FRAME_CLOSE_PEER -> {
                var cp = (DerpFrame.ClosePeer) decode(f);
                if (!canMesh) throw new DerpProtocolException("ClosePeer without mesh permission");
                server.closePeer(cp.peer());
            }
            case Derp.FRAME_PONG, Derp.FRAME_KEEP_ALIVE -> {}
            default -> server.unknownFrames.increment();
        }
    }

    private static DerpFrame decode(RawFrame f) {
        ByteBuf p = f.payload();
        byte[] b = Frames.copy(p);
        return DerpFrame.decode(f.type(), b, 0, b.length);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.flush();
        ctx.fireChannelReadComplete();
    }

    // ---- outbound, called from any thread ----

    /** Queues a packet from {@code src}; takes ownership. Oldest dropped when full, as in Go's sendPkt. */
    void enqueue(NodePublicKey src, ByteBuf packet) {
        if (ctx.executor().inEventLoop() && state == State.RUNNING && ctx.channel().isWritable()) {
            boolean empty;
            synchronized (queue) {
                empty = queue.isEmpty() && discoQueue.isEmpty();
            }
            if (empty) {
                // Same event loop as the sender: write now, flush once after the sender's read batch.
                writePacket(new Queued(src, packet));
                if (!flushScheduled) {
                    flushScheduled = true;
                    ctx.executor().execute(this::flushNow);
                }
                return;
            }
        }
        boolean disco = Frames.looksLikeDisco(packet, packet.readerIndex(), packet.readableBytes());
        Queued dropped = null;
        boolean schedule;
        synchronized (queue) {
            if (state == State.CLOSED) {
                dropped = new Queued(src, packet);
                schedule = false;
            } else {
                ArrayDeque<Queued> q = disco ? discoQueue : queue;
                if (q.size() >= server.options().queueDepth()) dropped = q.pollFirst();
                q.addLast(new Queued(src, packet));
                schedule = !drainScheduled;
                drainScheduled = true;
            }
        }
        if (dropped != null) {
            dropped.packet.release();
            server.recordDrop(state == State.CLOSED ? DerpServer.DropReason.GONE_DISCONNECTED : DerpServer.DropReason.QUEUE_HEAD);
        }
        if (schedule) ctx.executor().execute(this::drain);
    }

    private void flushNow() {
        flushScheduled = false;
        ctx.flush();
        if (!ctx.channel().isWritable()) noteUnwritable();
    }

    /** Writes queued packets while the socket takes them; resumes on writability. */
    private void drain() {
        boolean wrote = false;
        while (true) {
            Queued q;
            synchronized (queue) {
                if (!ctx.channel().isWritable() || state == State.CLOSED) {
                    drainScheduled = false;
                    break;
                }
                q = discoQueue.pollFirst();
                if (q == null) q = queue.pollFirst();
                if (q == null) {
                    drainScheduled = false;
                    break;
                }
            }
            writePacket(q);
            wrote = true;
        }
        if (wrote) ctx.flush();
        if (!ctx.channel().isWritable()) noteUnwritable();
    }

    private void writePacket(Queued q) {
        int n = q.packet.readableBytes();
        if (sawSrc.add(q.src)) server.addPeerGoneWatcher(q.src, this);
        ctx.write(Frames.packetHeader(ctx.alloc(), Derp.FRAME_RECV_PACKET, n, q.src));
        ctx.write(q.packet).addListener(f -> {
            if (f.isSuccess()) {
                server.packetsSent.increment();
                server.bytesSent.add(n);
            } else {
                server.recordDrop(DerpServer.DropReason.WRITE_ERROR);
            }
        });
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            unwritableSince = 0;
            drain();
        } else {
            noteUnwritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    /** A client that stops reading is cut off after the write timeout, like Go's per-write deadline. */
    private void noteUnwritable() {
        if (unwritableSince != 0) return;
        long since = System.nanoTime();
        unwritableSince = since;
        long timeout = (canMesh ? java.time.Duration.ofSeconds(30) : server.options().writeTimeout()).toMillis();
        ctx.executor().schedule(() -> {
            if (unwritableSince == since && ctx.channel().isActive() && !ctx.channel().isWritable()) {
                server.writeTimeouts.increment();
                log.info("DERP client {} stopped reading; closing", key);
                close();
            }
        }, timeout, TimeUnit.MILLISECONDS);
    }

    void sendControl(DerpFrame f) {
        ctx.executor().execute(() -> {
            if (state == State.RUNNING) ctx.writeAndFlush(Frames.of(f));
        });
    }

    void sendControlAndClose(DerpFrame f) {
        ctx.executor().execute(() -> {
            if (state == State.RUNNING) ctx.writeAndFlush(Frames.of(f)).addListener(x -> close());
            else close();
        });
    }

    void sendPeerGone(NodePublicKey peer, int reason) {
        server.peerGoneFrames.increment();
        sendControl(new DerpFrame.PeerGone(peer, reason));
    }

    /** PeerGone(NotHere) in reply to disco for an unknown key, at most 3 at once and 1/s after (Go's limiter). */
    void sendPeerGoneLimited(NodePublicKey peer, int reason) {
        long now = System.nanoTime();
        synchronized (this) {
            peerGoneTokens = Math.min(3, peerGoneTokens + (now - peerGoneRefill) / 1e9);
            peerGoneRefill = now;
            if (peerGoneTokens < 1) return;
            peerGoneTokens -= 1;
        }
        sendPeerGone(peer, reason);
    }

    private void writeControl(DerpFrame f) {
        ctx.write(Frames.of(f));
    }

    private void keepAlive() {
        if (state == State.RUNNING && ctx.channel().isWritable()) ctx.writeAndFlush(Frames.of(new DerpFrame.KeepAlive()));
    }

    int presentFlags() {
        int f = 0;
        if (info != null && info.isProber()) f |= Derp.PEER_PRESENT_IS_PROBER;
        if (canMesh) f |= Derp.PEER_PRESENT_IS_MESH_PEER;
        if (notIdeal) f |= Derp.PEER_PRESENT_NOT_IDEAL;
        return f == 0 ? Derp.PEER_PRESENT_IS_REGULAR : f;
    }

    void close() {
        ChannelHandlerContext c = ctx;
        if (c != null) c.channel().close();
    }

    private void onClosed() {
        State was = state;
        synchronized (queue) {
            state = State.CLOSED;
        }
        if (handshakeTimer != null) handshakeTimer.cancel(false);
        if (keepAliveTimer != null) keepAliveTimer.cancel(false);
        if (was == State.RUNNING) {
            server.unregister(this);
            if (preferred) server.homeClients.decrement();
        }
        releaseQueues();
        pending.forEach(f -> f.payload().release());
        pending.clear();
    }

    private void releaseQueues() {
        while (true) {
            Queued q;
            synchronized (queue) {
                q = discoQueue.pollFirst();
                if (q == null) q = queue.pollFirst();
            }
            if (q == null) return;
            q.packet.release();
            server.recordDrop(DerpServer.DropReason.GONE_DISCONNECTED);
        }
    }

    private Object sourceOf() {
        return remote == null ? null : remote.getAddress();
    }

    private void protocolError(Exception e) {
        server.protocolErrors.increment();
        strangers.info(sourceOf(), "DERP client {} ({}): {}; closing", key != null ? key : "?", remote, e.getMessage());
        close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof DecoderException && cause.getCause() instanceof DerpProtocolException p) {
            protocolError(p);
        } else if (cause instanceof DerpProtocolException p) {
            protocolError(p);
        } else {
            log.debug("DERP connection {}: {}", remote, cause.toString());
            close();
        }
    }
}
