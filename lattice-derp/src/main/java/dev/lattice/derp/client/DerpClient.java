package dev.lattice.derp.client;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.derp.transport.FrameDecoder;
import dev.lattice.derp.transport.Frames;
import dev.lattice.derp.transport.RawFrame;
import dev.lattice.wire.derp.ClientInfo;
import dev.lattice.wire.derp.Derp;
import dev.lattice.wire.derp.DerpFrame;
import dev.lattice.wire.derp.DerpProtocolException;
import dev.lattice.wire.derp.ServerInfo;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A DERP client: connects to {@code http(s)://host[:port]/derp}, upgrades, proves its node key, then sends packets to
 * any peer key and hands received ones to a {@link DerpClientListener}. With {@code reconnect} it keeps the connection
 * up with exponential backoff (a Restarting frame sets the next delay). Sends never block and never queue without
 * bound: while the connection is down or its socket buffer is full, {@link #send} returns false and the packet is
 * dropped (WireGuard retransmits).
 *
 * <p>Mesh mode ({@link DerpClientOptions#mesh}): presents the mesh key, subscribes to connection changes and can
 * {@link #forwardPacket forward} packets for the server that owns it.
 */
public final class DerpClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DerpClient.class);

    private final URI url;
    private final NodePrivateKey privateKey;
    private final NodePublicKey publicKey;
    private final DerpClientOptions options;
    private final EventLoopGroup group;
    private final DerpClientListener listener;
    private final SslContext ssl;

    private final Object lock = new Object();
    private volatile Channel channel;
    private volatile boolean ready;
    private volatile NodePublicKey serverKey;
    private volatile boolean preferred;
    private volatile boolean closed;
    private CompletableFuture<Void> attempt;
    private Duration backoff;
    private long restartDelayMillis = -1;
    private final AtomicInteger generation = new AtomicInteger();
    private final Map<Long, PendingPing> pings = new ConcurrentHashMap<>();
    private final LongAdder dropped = new LongAdder();

    private record PendingPing(long sentNanos, CompletableFuture<Duration> result) {}

    public DerpClient(URI url, NodePrivateKey privateKey, DerpClientOptions options, EventLoopGroup group,
                      DerpClientListener listener) {
        this.url = Objects.requireNonNull(url, "url");
        if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme())) {
            throw new IllegalArgumentException("DERP URL must be http or https: " + url);
        }
        if (url.getHost() == null) throw new IllegalArgumentException("DERP URL has no host: " + url);
        this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
        this.publicKey = privateKey.publicKey();
        this.options = Objects.requireNonNull(options, "options");
        this.group = Objects.requireNonNull(group, "group");
        this.listener = listener == null ? new DerpClientListener() {} : listener;
        this.backoff = options.minBackoff();
        try {
            this.ssl = "https".equals(url.getScheme())
                    ? (options.insecureForTests()
                            ? SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build()
                            : SslContextBuilder.forClient().build())
                    : null;
        } catch (SSLException e) {
            throw new IllegalStateException("TLS setup failed", e);
        }
    }

    public NodePublicKey publicKey() {
        return publicKey;
    }

    /** The server's key once connected (null before the first handshake). */
    public NodePublicKey serverPublicKey() {
        return serverKey;
    }

    public boolean isConnected() {
        return ready && channel != null && channel.isActive();
    }

    public URI url() {
        return url;
    }

    /** Packets not sent because the connection was down or full. */
    public long droppedSends() {
        return dropped.sum();
    }

    /**
     * Starts connecting (if not already) and returns a future completed when the server admitted this client
     * (ServerInfo received), or failed if this attempt fails. With {@code reconnect}, failures are retried in the
     * background regardless.
     */
    public CompletableFuture<Void> connect() {
        synchronized (lock) {
            if (closed) return CompletableFuture.failedFuture(new IllegalStateException("DERP client closed"));
            if (attempt != null && !attempt.isDone()) return attempt;
            if (isConnected()) return CompletableFuture.completedFuture(null);
            attempt = new CompletableFuture<>();
            CompletableFuture<Void> a = attempt;
            dial(a);
            return a;
        }
    }

    private void dial(CompletableFuture<Void> a) {
        int port = url.getPort() > 0 ? url.getPort() : (ssl != null ? 443 : 80);
        String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/derp" : url.getRawPath();
        Bootstrap b = new Bootstrap().group(group)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) options.connectTimeout().toMillis())
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (ssl != null) ch.pipeline().addLast("ssl", ssl.newHandler(ch.alloc(), url.getHost(), port));
                        ch.pipeline().addLast("read-timeout", new ReadTimeoutHandler(options.readTimeout().toMillis(), TimeUnit.MILLISECONDS));
                        ch.pipeline().addLast("upgrade", new Upgrade(a, hostHeader(port), path));
                    }
                });
        options.dialer().accept(b);
        // The dialer may have chosen the channel type (epoll for socket options); NIO otherwise.
        if (b.config().channelFactory() == null) b.channel(NioSocketChannel.class);
        b.connect(url.getHost(), port).addListener(f -> {
            if (!f.isSuccess()) failed(a, f.cause());
        });
    }

    private String hostHeader(int port) {
        boolean dflt = (ssl != null && port == 443) || (ssl == null && port == 80);
        String h = url.getHost();
        return dflt ? h : h + ":" + port;
    }

    private void failed(CompletableFuture<Void> a, Throwable cause) {
        if (a.completeExceptionally(cause)) {
            listener.onDisconnected(cause);
            scheduleReconnect();
        }
    }

    private void scheduleReconnect() {
        long delay;
        synchronized (lock) {
            if (closed || !options.reconnect()) return;
            if (restartDelayMillis >= 0) {
                delay = restartDelayMillis;
                restartDelayMillis = -1;
            } else {
                long base = backoff.toMillis();
                delay = base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1); // jitter: 50–100 %
                backoff = backoff.multipliedBy(2);
                if (backoff.compareTo(options.maxBackoff()) > 0) backoff = options.maxBackoff();
            }
        }
        log.debug("DERP {}: reconnecting in {} ms", url, delay);
        group.next().schedule(() -> {
            if (!closed) connect();
        }, delay, TimeUnit.MILLISECONDS);
    }

    /** Sends {@code packet} to {@code dst}; false (dropped) when not connected or the socket buffer is full. */
    public boolean send(NodePublicKey dst, byte[] packet) {
        return send(dst, packet, 0, packet.length);
    }

    public boolean send(NodePublicKey dst, byte[] packet, int off, int len) {
        if (len > Derp.MAX_PACKET_SIZE) throw new IllegalArgumentException("packet too big: " + len);
        Channel ch = channel;
        if (!ready || ch == null || !ch.isWritable()) {
            dropped.increment();
            return false;
        }
        ByteBuf hdr = Frames.packetHeader(ch.alloc(), Derp.FRAME_SEND_PACKET, len, dst);
        // One write per frame: senders on different threads would otherwise interleave headers and bodies.
        ch.writeAndFlush(Unpooled.wrappedBuffer(hdr, Unpooled.wrappedBuffer(packet, off, len)), ch.voidPromise());
        return true;
    }

    /**
     * Mesh only: asks the server to deliver {@code packet} from {@code src} to its local client {@code dst}. Takes
     * ownership of the buffer.
     */
    public boolean forwardPacket(NodePublicKey src, NodePublicKey dst, ByteBuf packet) {
        Channel ch = channel;
        if (!ready || ch == null || !ch.isWritable()) {
            packet.release();
            dropped.increment();
            return false;
        }
        ByteBuf hdr = Frames.packetHeader(ch.alloc(), Derp.FRAME_FORWARD_PACKET, packet.readableBytes(), src, dst);
        ch.writeAndFlush(Unpooled.wrappedBuffer(hdr, packet), ch.voidPromise()); // one write per frame, as in send
        return true;
    }

    /** Tells the server whether it is this node's home (sent now and after every reconnect). */
    public void notePreferred(boolean v) {
        preferred = v;
        writeControl(new DerpFrame.NotePreferred(v));
    }

    /** Mesh only: asks the server to close {@code peer}'s connections. */
    public void closePeer(NodePublicKey peer) {
        writeControl(new DerpFrame.ClosePeer(peer));
    }

    /** Round trip to the server; fails if not connected or no Pong within {@code timeout}. */
    public CompletableFuture<Duration> ping(Duration timeout) {
        byte[] data = new byte[8];
        ThreadLocalRandom.current().nextBytes(data);
        long id = java.nio.ByteBuffer.wrap(data).getLong();
        CompletableFuture<Duration> f = new CompletableFuture<>();
        pings.put(id, new PendingPing(System.nanoTime(), f));
        f.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((d, e) -> pings.remove(id));
        if (!writeControl(new DerpFrame.Ping(data))) f.completeExceptionally(new IllegalStateException("DERP client not connected"));
        return f;
    }

    private boolean writeControl(DerpFrame f) {
        Channel ch = channel;
        if (!ready || ch == null) return false;
        ch.writeAndFlush(Frames.of(f), ch.voidPromise());
        return true;
    }

    /** Drops the current connection (a reconnect follows if configured); for tests and network changes. */
    public void disconnect() {
        Channel ch = channel;
        if (ch != null) ch.close();
    }

    @Override
    public void close() {
        Channel ch;
        synchronized (lock) {
            closed = true;
            if (attempt != null) attempt.completeExceptionally(new IllegalStateException("DERP client closed"));
            ch = channel; // admitted before this, or the admission sees closed and drops the connection
        }
        if (ch != null) ch.close().syncUninterruptibly();
    }

    // ---- pipeline ----

    /** Sends the upgrade request, waits for "101" and the blank line, then swaps in the frame handlers. */
    private final class Upgrade extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<Void> attempt;
        private final String host;
        private final String path;
        private ByteBuf acc;

        Upgrade(CompletableFuture<Void> attempt, String host, String path) {
            this.attempt = attempt;
            this.host = host;
            this.path = path;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (ssl == null) sendRequest(ctx);
            ctx.fireChannelActive();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent e) {
                if (e.isSuccess()) sendRequest(ctx);
                else fail(ctx, e.cause());
            }
            ctx.fireUserEventTriggered(evt);
        }

        private void sendRequest(ChannelHandlerContext ctx) {
            String req = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: lattice-derp\r\n"
                    + "Upgrade: DERP\r\nConnection: Upgrade\r\n\r\n";
            ctx.writeAndFlush(Unpooled.copiedBuffer(req, StandardCharsets.US_ASCII));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            if (acc == null) acc = ctx.alloc().buffer();
            acc.writeBytes(in);
            in.release();
            int end = ByteBufUtil.indexOf(Unpooled.wrappedBuffer(new byte[] {'\r', '\n', '\r', '\n'}), acc);
            if (end < 0) {
                if (acc.readableBytes() > 16 * 1024) fail(ctx, new DerpProtocolException("DERP upgrade response headers too long"));
                return;
            }
            String head = acc.toString(acc.readerIndex(), end - acc.readerIndex(), StandardCharsets.ISO_8859_1);
            acc.readerIndex(end + 4);
            String status = head.lines().findFirst().orElse("");
            if (!status.matches("HTTP/1\\.[01] 101( .*)?")) {
                String body = acc.toString(StandardCharsets.UTF_8);
                fail(ctx, new DerpProtocolException("DERP upgrade refused: " + status
                        + (body.isBlank() ? "" : ": " + body.strip().substring(0, Math.min(200, body.strip().length())))));
                return;
            }
            var p = ctx.pipeline();
            p.addAfter(ctx.name(), "derp-frames", new FrameDecoder(Derp.MAX_SERVER_FRAME_LEN));
            p.addAfter("derp-frames", "derp-client", new Handler(attempt));
            ByteBuf rest = acc;
            acc = null;
            if (rest.isReadable()) ctx.fireChannelRead(rest); // into the frame decoder just added after us
            else rest.release();
            p.remove(this);
        }

        private void fail(ChannelHandlerContext ctx, Throwable t) {
            failed(attempt, t);
            ctx.close();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (acc != null) acc.release();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            failed(attempt, new DerpProtocolException("connection closed during the DERP upgrade"));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(ctx, cause);
        }
    }

    /** The DERP conversation: ServerKey → ClientInfo (+ preferred, watch) → ServerInfo → frames. */
    private final class Handler extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<Void> attempt;
        private boolean gotServerKey;
        private boolean admitted;

        Handler(CompletableFuture<Void> attempt) {
            this.attempt = attempt;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            RawFrame f = (RawFrame) msg;
            try {
                on(ctx, f);
            } catch (DerpProtocolException e) {
                log.info("DERP {}: {}", url, e.getMessage());
                failed(attempt, e);
                ctx.close();
            } finally {
                f.payload().release();
            }
        }

        private void on(ChannelHandlerContext ctx, RawFrame raw) {
            ByteBuf p = raw.payload();
            if (raw.type() == Derp.FRAME_RECV_PACKET && admitted) {
                if (p.readableBytes() < Derp.KEY_LEN) return; // Go drops short packets
                NodePublicKey src = Frames.keyAt(p, p.readerIndex());
                byte[] pkt = new byte[p.readableBytes() - Derp.KEY_LEN];
                p.getBytes(p.readerIndex() + Derp.KEY_LEN, pkt);
                listener.onPacket(src, pkt);
                return;
            }
            byte[] b = Frames.copy(p);
            if (!gotServerKey) {
                if (raw.type() != Derp.FRAME_SERVER_KEY) throw new DerpProtocolException("invalid server greeting: " + Derp.frameName(raw.type()));
                var sk = (DerpFrame.ServerKey) DerpFrame.decode(raw.type(), b, 0, b.length);
                gotServerKey = true;
                serverKey = sk.key();
                ClientInfo info = ClientInfo.of(options.meshKey(), options.canAckPings());
                ctx.write(Frames.of(new DerpFrame.ClientInfoFrame(publicKey, info.seal(sk.key(), privateKey))));
                if (preferred) ctx.write(Frames.of(new DerpFrame.NotePreferred(true)));
                if (options.watchConns()) ctx.write(Frames.of(new DerpFrame.WatchConns()));
                ctx.flush();
                return;
            }
            DerpFrame f;
            try {
                f = DerpFrame.decode(raw.type(), b, 0, b.length);
            } catch (DerpProtocolException e) {
                if (raw.type() == Derp.FRAME_SERVER_INFO) throw e;
                log.debug("DERP {}: dropping malformed {} frame: {}", url, Derp.frameName(raw.type()), e.getMessage());
                return; // as Go's client: skip what it cannot parse
            }
            switch (f) {
                case DerpFrame.ServerInfoFrame si -> {
                    ServerInfo.open(si.sealed(), serverKey, privateKey);
                    if (!admitted) {
                        synchronized (lock) {
                            // Closed while this connection was being set up (a failover's map named another node):
                            // it must not outlive the client as a second, orphaned connection to the server.
                            if (closed) {
                                ctx.close();
                                return;
                            }
                            admitted = true;
                            channel = ctx.channel();
                            ready = true;
                            backoff = options.minBackoff();
                        }
                        int gen = generation.incrementAndGet();
                        ctx.channel().closeFuture().addListener(x -> lost(ctx.channel()));
                        attempt.complete(null);
                        listener.onConnected(serverKey, gen);
                    }
                }
                case DerpFrame.RecvPacket rp -> {} // before ServerInfo: not yet admitted, ignore
                case DerpFrame.KeepAlive k -> {}
                case DerpFrame.Ping ping -> {
                    if (options.canAckPings()) ctx.writeAndFlush(Frames.of(new DerpFrame.Pong(ping.data())));
                }
                case DerpFrame.Pong pong -> {
                    PendingPing pp = pings.remove(java.nio.ByteBuffer.wrap(pong.data()).getLong());
                    if (pp != null) pp.result().complete(Duration.ofNanos(System.nanoTime() - pp.sentNanos()));
                    listener.onPong(pong.data());
                }
                case DerpFrame.PeerGone g -> listener.onPeerGone(g.peer(), g.reason());
                case DerpFrame.PeerPresent pp -> listener.onPeerPresent(pp);
                case DerpFrame.Health h -> listener.onHealth(h.problem());
                case DerpFrame.Restarting r -> {
                    synchronized (lock) {
                        restartDelayMillis = r.reconnectInMillis();
                    }
                    listener.onRestarting(r.reconnectInMillis(), r.tryForMillis());
                }
                default -> {} // unknown or server-bound types: skipped
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!admitted) failed(attempt, new DerpProtocolException("DERP server closed the connection during the handshake"
                    + (gotServerKey ? " (client refused?)" : "")));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
            log.debug("DERP {}: {}", url, c.toString());
            if (!admitted) failed(attempt, c);
            ctx.close();
        }
    }

    private void lost(Channel ch) {
        if (channel != ch) return;
        ready = false;
        channel = null;
        pings.values().forEach(p -> p.result().completeExceptionally(new IllegalStateException("DERP connection lost")));
        pings.clear();
        listener.onDisconnected(new java.io.IOException("DERP connection to " + url + " closed"));
        scheduleReconnect();
    }

    @Override
    public String toString() {
        return "DerpClient[" + url + ", " + publicKey + (isConnected() ? ", connected" : "") + "]";
    }

    static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(Arrays.copyOf(b, Math.min(b.length, 8)));
    }
}
