package dev.lattice.derp.standalone;

import dev.lattice.derp.server.BootstrapDns;
import dev.lattice.derp.server.DerpServer;
import dev.lattice.guard.BodyLimiter;
import dev.lattice.guard.ConnectionGuard;
import dev.lattice.guard.Limits;
import dev.lattice.guard.RequestDeadline;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A DERP server on its own HTTP(S) listener, like tailscale's {@code cmd/derper}: {@code /derp} and the probe
 * endpoints from {@link DerpServer#httpHandler()}, a small home page, {@code /robots.txt}, 404 elsewhere.
 * Requests may be at most 64 KiB; a connection that sends no complete request within 30 s is closed (the DERP
 * handler removes that deadline on upgrade, along with the other HTTP handlers). Connections are admitted by a
 * {@link ConnectionGuard}: a total cap under the descriptor limit, and a cap on unverified connections per address.
 */
public final class StandaloneDerper implements AutoCloseable {
    private final DerpServer server;
    private final Channel channel;

    private StandaloneDerper(DerpServer server, Channel channel) {
        this.server = server;
        this.channel = channel;
    }

    /** Binds {@code addr} (port 0 = any). {@code tls} null = plain HTTP. The group is the caller's to shut down. */
    public static StandaloneDerper start(DerpServer server, InetSocketAddress addr, SslContext tls, EventLoopGroup group)
            throws InterruptedException {
        return start(server, addr, tls, group, new ConnectionGuard(defaultLimits()));
    }

    /**
     * What a stranger may hold of a public relay: a relay serves whole offices behind one NAT, so the cap on
     * unverified connections per address is generous; a verified client (--verify-clients) or mesh peer leaves it.
     */
    public static Limits defaultLimits() {
        return Limits.builder().maxAnonymousPerSource(1024).build();
    }

    public static StandaloneDerper start(DerpServer server, InetSocketAddress addr, SslContext tls, EventLoopGroup group,
            ConnectionGuard guard) throws InterruptedException {
        return start(server, addr, tls, group, guard, true);
    }

    /**
     * @param runDerp false = derper's {@code --derp=false}: {@code /derp} answers 404 "derp server disabled" (a relay
     *     being retired keeps serving its other endpoints)
     */
    public static StandaloneDerper start(DerpServer server, InetSocketAddress addr, SslContext tls, EventLoopGroup group,
            ConnectionGuard guard, boolean runDerp) throws InterruptedException {
        return start(server, addr, tls, group, guard, runDerp, new BootstrapDns(java.util.List::of));
    }

    /** @param bootstrapDns what {@code /bootstrap-dns} answers (its names resolved by the caller's refreshes) */
    public static StandaloneDerper start(DerpServer server, InetSocketAddress addr, SslContext tls, EventLoopGroup group,
            ConnectionGuard guard, boolean runDerp, BootstrapDns bootstrapDns) throws InterruptedException {
        Objects.requireNonNull(server, "server");
        ChannelHandler fallback = new Fallback(bootstrapDns);
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (!guard.admit(ch)) return;
                        if (tls != null) ch.pipeline().addLast("ssl", tls.newHandler(ch.alloc()));
                        ch.pipeline().addLast("http", new HttpServerCodec(8192, 16384, 8192));
                        ch.pipeline().addLast("body-limit", new BodyLimiter(64 * 1024));
                        ch.pipeline().addLast("aggregate", new HttpObjectAggregator(64 * 1024));
                        // Absolute: a client trickling its request a byte at a time is cut off too.
                        ch.pipeline().addLast("http-deadline", new RequestDeadline(guard.limits().requestTimeout, true));
                        if (runDerp) ch.pipeline().addLast("derp", server.httpHandler());
                        ch.pipeline().addLast("home", fallback);
                    }
                });
        Channel ch = b.bind(addr).sync().channel();
        return new StandaloneDerper(server, ch);
    }

    public InetSocketAddress boundAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    public DerpServer server() {
        return server;
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        server.close();
    }

    @ChannelHandler.Sharable
    private static final class Fallback extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final BootstrapDns bootstrapDns;

        Fallback(BootstrapDns bootstrapDns) {
            this.bootstrapDns = bootstrapDns;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            QueryStringDecoder q = new QueryStringDecoder(req.uri());
            String path = q.path();
            if (path.equals("/bootstrap-dns")) {
                var qs = q.parameters().get("q");
                byte[] b = bootstrapDns.answer(qs == null || qs.isEmpty() ? null : qs.getFirst());
                FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(b));
                res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json").set(HttpHeaderNames.CONNECTION, "close");
                HttpUtil.setContentLength(res, b.length);
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            HttpResponseStatus st = HttpResponseStatus.OK;
            String body;
            switch (path) {
                case "/" -> body = "<html><body><h1>DERP</h1><p>This is a Lattice DERP relay (Tailscale protocol).</p></body></html>\n";
                case "/robots.txt" -> body = "User-agent: *\nDisallow: /\n";
                case "/derp" -> {
                    // Only reached when the DERP handler is not in the pipeline (--derp=false).
                    st = HttpResponseStatus.NOT_FOUND;
                    body = "derp server disabled\n";
                }
                default -> {
                    st = HttpResponseStatus.NOT_FOUND;
                    body = "404 page not found\n";
                }
            }
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, st, Unpooled.wrappedBuffer(b));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, path.equals("/") ? "text/html; charset=utf-8" : "text/plain; charset=utf-8");
            res.headers().set("X-Frame-Options", "DENY");
            HttpUtil.setContentLength(res, b.length);
            if (HttpUtil.isKeepAlive(req)) ctx.writeAndFlush(res);
            else ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
