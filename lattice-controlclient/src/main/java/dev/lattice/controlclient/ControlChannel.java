package dev.lattice.controlclient;

import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.wire.ts2021.ControlHandshake;
import dev.lattice.wire.ts2021.ControlMessages;
import dev.lattice.wire.ts2021.ControlProtocolException;
import dev.lattice.wire.ts2021.EarlyPayload;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.SslContext;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A ts2021 connection to a control server, as tailscale's controlhttp client makes it: {@code POST /ts2021} with
 * the Noise initiation in {@code X-Tailscale-Handshake}, the 101, the Noise response, then HTTP/2 (prior knowledge)
 * over encrypted records. Requests are multiplexed on the one connection.
 */
public final class ControlChannel implements AutoCloseable {
    /**
     * DATA frames up to 1 MiB, as tailscale's HTTP/2 client (Go's transport) announces, and a 512 KiB window per stream
     * (Netty widens the connection's window to match). Netty's defaults (16 KiB frames, a 64 KiB window) had the server
     * cut a 1.5 MB netmap into ~90 frames and wait for ~45 window updates on the way. Go's 4 MiB window is not taken:
     * a map smaller than the window leaves the server as fast as the socket takes it whether or not the client keeps
     * up, and the storm bench's 10,000 clients in one JVM then held thousands of half-read maps (out of memory at
     * 4 GiB); a window smaller than a map keeps the server's full-map budget in charge of how many are on their way.
     */
    static final Http2Settings CLIENT_SETTINGS = Http2Settings.defaultSettings()
            .pushEnabled(false)
            .initialWindowSize(512 << 10)
            .maxFrameSize(1 << 20);

    private final Channel channel;
    private final ControlHandshake.Established established;
    private final CompletableFuture<byte[]> early;

    private ControlChannel(Channel channel, ControlHandshake.Established established, CompletableFuture<byte[]> early) {
        this.channel = channel;
        this.established = established;
        this.early = early;
    }

    /** A response to a unary request. */
    public record Response(int status, byte[] body) {
        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /**
     * Connects and completes the handshake.
     *
     * @param ssl TLS for https URLs, or null for http
     */
    public static CompletableFuture<ControlChannel> connect(EventLoopGroup group, URI server, SslContext ssl,
            MachinePrivateKey machineKey, MachinePublicKey controlKey, int version) {
        return connect(group, server, ssl, machineKey, controlKey, version, null);
    }

    /** As {@link #connect(EventLoopGroup, URI, SslContext, MachinePrivateKey, MachinePublicKey, int)}, from {@code local} if not null. */
    public static CompletableFuture<ControlChannel> connect(EventLoopGroup group, URI server, SslContext ssl,
            MachinePrivateKey machineKey, MachinePublicKey controlKey, int version, java.net.InetSocketAddress local) {
        return connect(group, server, ssl, machineKey, controlKey, version, local, b -> {});
    }

    /**
     * As {@link #connect(EventLoopGroup, URI, SslContext, MachinePrivateKey, MachinePublicKey, int)}, with
     * {@code dialer} applied to the bootstrap last: it may set the channel type (matching {@code group}'s transport)
     * and socket options, such as the mark that keeps a VPN daemon's own connection out of its tunnel.
     */
    public static CompletableFuture<ControlChannel> connect(EventLoopGroup group, URI server, SslContext ssl,
            MachinePrivateKey machineKey, MachinePublicKey controlKey, int version, java.net.InetSocketAddress local,
            java.util.function.Consumer<Bootstrap> dialer) {
        CompletableFuture<ControlChannel> result = new CompletableFuture<>();
        ControlHandshake.Client hs = new ControlHandshake.Client(machineKey, controlKey, version);
        String host = server.getHost();
        boolean https = "https".equalsIgnoreCase(server.getScheme());
        int port = server.getPort() > 0 ? server.getPort() : https ? 443 : 80;
        CompletableFuture<byte[]> early = new CompletableFuture<>();
        Bootstrap b = new Bootstrap().group(group)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (https && ssl != null) ch.pipeline().addLast("tls", ssl.newHandler(ch.alloc(), host, port));
                        ch.pipeline().addLast("http", new HttpClientCodec());
                        ch.pipeline().addLast("http-agg", new HttpObjectAggregator(64 << 10));
                        ch.pipeline().addLast("upgrade", new UpgradeHandler(hs, result, early));
                    }
                });
        dialer.accept(b);
        // The dialer may have chosen the channel type (epoll for socket options); NIO otherwise.
        if (b.config().channelFactory() == null) b.channel(NioSocketChannel.class);
        (local == null ? b.connect(host, port) : b.connect(new java.net.InetSocketAddress(host, port), local)).addListener(f -> {
            if (!f.isSuccess()) {
                result.completeExceptionally(f.cause());
                return;
            }
            Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/ts2021");
            req.headers().set(HttpHeaderNames.HOST, host + (server.getPort() > 0 ? ":" + server.getPort() : ""))
                    .set(HttpHeaderNames.UPGRADE, "tailscale-control-protocol")
                    .set(HttpHeaderNames.CONNECTION, "upgrade")
                    .set("X-Tailscale-Handshake", Base64.getEncoder().encodeToString(hs.initiation()))
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
            ch.writeAndFlush(req);
        });
        return result;
    }

    /** The server's early payload JSON (tailcfg.EarlyNoise), once received. */
    public CompletableFuture<byte[]> earlyPayload() {
        return early;
    }

    public int version() {
        return established.version();
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    public Channel channel() {
        return channel;
    }

    /** A unary request; completes with the whole response. */
    public CompletableFuture<Response> request(HttpMethod method, String path, byte[] body) {
        CompletableFuture<Response> out = new CompletableFuture<>();
        new Http2StreamChannelBootstrap(channel).handler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false), new HttpObjectAggregator(16 << 20),
                        new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof FullHttpResponse r) {
                                    byte[] b = new byte[r.content().readableBytes()];
                                    r.content().readBytes(b);
                                    r.release();
                                    out.complete(new Response(r.status().code(), b));
                                    ctx.close();
                                }
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                out.completeExceptionally(new java.io.IOException("stream closed before a response"));
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                out.completeExceptionally(cause);
                                ctx.close();
                            }
                        });
            }
        }).open().addListener(f -> {
            if (!f.isSuccess()) {
                out.completeExceptionally(f.cause());
                return;
            }
            Http2StreamChannel s = (Http2StreamChannel) f.getNow();
            s.writeAndFlush(newRequest(method, path, body));
        });
        return out;
    }

    /**
     * Opens a long-poll map stream: {@code listener} gets every MapResponse JSON (length prefix removed, zstd
     * decompressed if {@code zstd}). Close the returned stream to end it.
     */
    public CompletableFuture<MapStream> stream(String path, byte[] body, boolean zstd, MapStream.Listener listener) {
        CompletableFuture<MapStream> out = new CompletableFuture<>();
        MapStream.Handler handler = new MapStream.Handler(zstd, listener);
        new Http2StreamChannelBootstrap(channel).handler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false), handler);
            }
        }).open().addListener(f -> {
            if (!f.isSuccess()) {
                out.completeExceptionally(f.cause());
                return;
            }
            Http2StreamChannel s = (Http2StreamChannel) f.getNow();
            s.writeAndFlush(newRequest(HttpMethod.POST, path, body));
            out.complete(new MapStream(s, handler));
        });
        return out;
    }

    private static FullHttpRequest newRequest(HttpMethod method, String path, byte[] body) {
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, path,
                body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        req.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body == null ? 0 : body.length)
                // The object codec needs an authority/scheme for HTTP/2 pseudo-headers.
                .set(HttpHeaderNames.HOST, "unused")
                .set("x-http2-scheme", "http");
        return req;
    }

    @Override
    public void close() {
        channel.close();
    }

    /**
     * Connects over a WebSocket as tailscale's browser (js/wasm) client does: {@code GET /ts2021} with the Noise
     * initiation in the {@code X-Tailscale-Handshake} query parameter and the {@code tailscale-control-protocol}
     * subprotocol; the Noise response and then HTTP/2 travel in binary messages. No early payload comes this way
     * ({@link #earlyPayload()} completes with null).
     */
    public static CompletableFuture<ControlChannel> connectWebSocket(EventLoopGroup group, URI server, SslContext ssl,
            MachinePrivateKey machineKey, MachinePublicKey controlKey, int version) {
        CompletableFuture<ControlChannel> result = new CompletableFuture<>();
        ControlHandshake.Client hs = new ControlHandshake.Client(machineKey, controlKey, version);
        String host = server.getHost();
        boolean https = "https".equalsIgnoreCase(server.getScheme());
        int port = server.getPort() > 0 ? server.getPort() : https ? 443 : 80;
        URI ws = URI.create((https ? "wss" : "ws") + "://" + host + ":" + port + "/ts2021?X-Tailscale-Handshake="
                + java.net.URLEncoder.encode(Base64.getEncoder().encodeToString(hs.initiation()), StandardCharsets.UTF_8));
        var handshaker = io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory.newHandshaker(ws,
                io.netty.handler.codec.http.websocketx.WebSocketVersion.V13, "tailscale-control-protocol", false,
                new io.netty.handler.codec.http.DefaultHttpHeaders(), 1 << 20);
        CompletableFuture<byte[]> early = new CompletableFuture<>();
        new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (https && ssl != null) ch.pipeline().addLast("tls", ssl.newHandler(ch.alloc(), host, port));
                        ch.pipeline().addLast("http", new HttpClientCodec());
                        ch.pipeline().addLast("http-agg", new HttpObjectAggregator(64 << 10));
                        ch.pipeline().addLast("upgrade", new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (!(msg instanceof FullHttpResponse r)) {
                                    ctx.fireChannelRead(msg);
                                    return;
                                }
                                try {
                                    handshaker.finishHandshake(ctx.channel(), r);
                                } catch (RuntimeException e) {
                                    result.completeExceptionally(new ControlProtocolException("WebSocket upgrade refused: " + r.status()
                                            + " " + r.content().toString(StandardCharsets.UTF_8).trim()));
                                    ctx.close();
                                    return;
                                } finally {
                                    r.release();
                                }
                                var p = ctx.pipeline();
                                p.addLast("ws-stream", new WebSocketBytes());
                                p.addLast("ts2021-response", new ResponseReader(hs, result, early));
                                p.remove(this);
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                result.completeExceptionally(new java.io.IOException("connection closed during the WebSocket upgrade"));
                            }
                        });
                    }
                })
                .connect(host, port).addListener(f -> {
                    if (!f.isSuccess()) {
                        result.completeExceptionally(f.cause());
                        return;
                    }
                    handshaker.handshake(((io.netty.channel.ChannelFuture) f).channel());
                });
        return result;
    }

    /** WebSocket binary messages in, stream bytes out; written buffers leave as binary messages. */
    private static final class WebSocketBytes extends io.netty.channel.ChannelDuplexHandler {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            switch (msg) {
                case io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame b -> ctx.fireChannelRead(b.content());
                case io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame c -> ctx.fireChannelRead(c.content());
                case io.netty.handler.codec.http.websocketx.PingWebSocketFrame p ->
                        ctx.writeAndFlush(new io.netty.handler.codec.http.websocketx.PongWebSocketFrame(p.content()));
                case io.netty.handler.codec.http.websocketx.WebSocketFrame other -> {
                    other.release();
                    ctx.close();
                }
                default -> ctx.fireChannelRead(msg);
            }
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, io.netty.channel.ChannelPromise promise) {
            if (msg instanceof ByteBuf b && !(msg instanceof io.netty.handler.codec.http.websocketx.WebSocketFrame)) {
                ctx.write(new io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame(b), promise);
            } else {
                ctx.write(msg, promise);
            }
        }
    }

    /** Waits for the 101, then reads the raw Noise response that follows it. */
    private static final class UpgradeHandler extends ChannelInboundHandlerAdapter {
        private final ControlHandshake.Client hs;
        private final CompletableFuture<ControlChannel> result;
        private final CompletableFuture<byte[]> early;

        UpgradeHandler(ControlHandshake.Client hs, CompletableFuture<ControlChannel> result, CompletableFuture<byte[]> early) {
            this.hs = hs;
            this.result = result;
            this.early = early;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof FullHttpResponse r) {
                try {
                    if (r.status().code() != HttpResponseStatus.SWITCHING_PROTOCOLS.code()) {
                        String text = r.content().toString(StandardCharsets.UTF_8).trim();
                        result.completeExceptionally(new ControlProtocolException(
                                "control server answered " + r.status() + (text.isEmpty() ? "" : ": " + text)));
                        ctx.close();
                        return;
                    }
                } finally {
                    r.release();
                }
                var p = ctx.pipeline();
                p.addAfter("upgrade", "ts2021-response", new ResponseReader(hs, result, early));
                p.remove(this);
                p.remove("http-agg");
                p.remove("http"); // forwards any bytes that came with the 101 to the response reader
                return;
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            result.completeExceptionally(new java.io.IOException("connection closed during the ts2021 upgrade"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.completeExceptionally(cause);
            ctx.close();
        }
    }

    private static final class ResponseReader extends ByteToMessageDecoder {
        private final ControlHandshake.Client hs;
        private final CompletableFuture<ControlChannel> result;
        private final CompletableFuture<byte[]> early;

        ResponseReader(ControlHandshake.Client hs, CompletableFuture<ControlChannel> result, CompletableFuture<byte[]> early) {
            this.hs = hs;
            this.result = result;
            this.early = early;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
            if (in.readableBytes() < ControlMessages.HEADER_LEN) return;
            int len = in.getUnsignedShort(in.readerIndex() + 1);
            if (in.readableBytes() < ControlMessages.HEADER_LEN + len) return;
            byte[] msg = new byte[ControlMessages.HEADER_LEN + len];
            in.readBytes(msg);
            ControlHandshake.Established est;
            try {
                est = hs.finish(msg);
            } catch (ControlProtocolException e) {
                result.completeExceptionally(e);
                ctx.close();
                return;
            }
            var p = ctx.pipeline();
            p.addAfter(ctx.name(), "ts2021-records", new NoiseRecordCodec(est.rx(), est.tx()));
            p.addAfter("ts2021-records", "ts2021-early", new EarlyPayloadReader(early));
            p.addAfter("ts2021-early", "h2", Http2FrameCodecBuilder.forClient().initialSettings(CLIENT_SETTINGS).build());
            p.addAfter("h2", "h2-streams", new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
            result.complete(new ControlChannel(ctx.channel(), est, early));
            p.remove(this); // remaining bytes go on to the record codec
        }
    }

    /** Strips the server's early payload from the front of the plaintext stream; the rest is HTTP/2. */
    private static final class EarlyPayloadReader extends ByteToMessageDecoder {
        private final CompletableFuture<byte[]> early;

        EarlyPayloadReader(CompletableFuture<byte[]> early) {
            this.early = early;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
            if (in.readableBytes() < EarlyPayload.MAGIC.length) return;
            byte[] head = new byte[Math.min(9, in.readableBytes())];
            in.getBytes(in.readerIndex(), head);
            if (!EarlyPayload.startsWithMagic(head)) {
                early.complete(null);
                ctx.pipeline().remove(this);
                return;
            }
            if (head.length < 9) return;
            int len = EarlyPayload.jsonLength(head);
            if (in.readableBytes() < 9 + len) return;
            in.skipBytes(9);
            byte[] json = new byte[len];
            in.readBytes(json);
            early.complete(json);
            ctx.pipeline().remove(this);
        }
    }
}
