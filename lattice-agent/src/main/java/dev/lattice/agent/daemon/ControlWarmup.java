package dev.lattice.agent.daemon;

import dev.lattice.agent.control.ControlClient;
import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.agent.state.Prefs;
import dev.lattice.controlclient.NoiseRecordCodec;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ts2021.ControlHandshake;
import dev.lattice.wire.ts2021.EarlyPayload;
import dev.lattice.wire.ts2021.MapStreamFraming;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A first login's network code, run once at daemon start against a made-up control server on the loopback
 * interface: the {@code /key} request, the ts2021 upgrade and handshake, HTTP/2 over Noise records, register and the
 * zstd map stream, through a real {@link ControlClient} on the daemon's own event loop and dialer. Cold, this code
 * was most of a fresh node's {@code up} (on the shared 2-core machine: connect ~470-600 ms and register ~170-530 ms
 * cold, ~20 and ~30 ms warm); {@link Warmup} alone covers only the JSON and the handshake's crypto.
 *
 * <p>The server listens on 127.0.0.1 on an ephemeral port only while the warm-up runs, answers with made-up keys and
 * the recorded maps of {@link Warmup#MAPS}, and is gone before it returns.
 */
final class ControlWarmup {
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    private ControlWarmup() {}

    /** Logs a made-up node in and waits for its first netmap; throws if that did not happen within {@link #TIMEOUT}. */
    static NetworkMap run(EventLoopGroup group, Consumer<Bootstrap> dialer) throws Exception {
        // The server on the daemon's own event loop and transport: a group and selector of its own loaded Netty's
        // NIO transport (~50 classes) beside the epoll one the daemon uses, and a thread, for this once.
        Class<? extends ServerChannel> serverChannel = group instanceof IoEventLoopGroup g && g.isIoType(EpollIoHandler.class)
                ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        ControlClient client = null;
        MachinePrivateKey controlKey = MachinePrivateKey.generate();
        byte[] maps = framedMaps();
        Channel server = new ServerBootstrap().group(group).channel(serverChannel)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("http", new HttpServerCodec());
                        ch.pipeline().addLast("http-agg", new HttpObjectAggregator(64 << 10));
                        ch.pipeline().addLast("route", new Http1(controlKey, maps));
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        try {
            int port = ((InetSocketAddress) server.localAddress()).getPort();
            // Loopback unusable (a namespace whose lo is down): fail here, quietly, before a client would log a
            // failed control login that never was one.
            try (java.net.Socket probe = new java.net.Socket()) {
                probe.connect(server.localAddress(), 1_000);
            }
            CompletableFuture<NetworkMap> first = new CompletableFuture<>();
            var cfg = ControlClient.Config.of(URI.create("http://127.0.0.1:" + port), MachinePrivateKey.generate(),
                            NodePrivateKey.generate(), DiscoPrivateKey.generate().publicKey(),
                            () -> NodeHostinfo.build(LocalBackend.VERSION, Prefs.defaults(), "warmup", List.of()))
                    .withGroup(group).withDialer(dialer).withMaxBackoff(Duration.ofSeconds(1));
            client = ControlClient.start(cfg, new ControlClient.Listener() {
                @Override
                public void onState(BackendState state, String authUrl) {}

                @Override
                public void onNetworkMap(NetworkMap map) {
                    first.complete(map);
                }

                @Override
                public void onError(Throwable error) {
                    first.completeExceptionally(error);
                }
            }, "warmup-key");
            return first.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } finally {
            if (client != null) client.close();
            server.close().awaitUninterruptibly(1_000);
        }
    }

    /** The recorded map responses, each framed and zstd-compressed as a control server streams them. */
    static byte[] framedMaps() throws IOException {
        byte[] all;
        try (InputStream in = Warmup.class.getResourceAsStream(Warmup.MAPS)) {
            if (in == null) throw new IOException(Warmup.MAPS + " missing");
            all = in.readAllBytes();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String line : new String(all, StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) out.writeBytes(MapStreamFraming.frameWithoutNative(line.getBytes(StandardCharsets.UTF_8)));
        }
        return out.toByteArray();
    }

    /** {@code GET /key} and the {@code POST /ts2021} upgrade, as lattice-control answers them. */
    private static final class Http1 extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final MachinePrivateKey controlKey;
        private final byte[] maps;

        Http1(MachinePrivateKey controlKey, byte[] maps) {
            this.controlKey = controlKey;
            this.maps = maps;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) throws Exception {
            if (req.uri().startsWith("/key")) {
                String json = "{\"legacyPublicKey\":\"" + MachinePrivateKey.generate().publicKey() + "\",\"publicKey\":\""
                        + controlKey.publicKey() + "\"}";
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.copiedBuffer(json, StandardCharsets.UTF_8));
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                        .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
                ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            String init = req.headers().get("X-Tailscale-Handshake");
            if (!req.uri().startsWith("/ts2021") || init == null) {
                ctx.close();
                return;
            }
            ControlHandshake.Accepted a = ControlHandshake.accept(controlKey, Base64.getDecoder().decode(init.trim()));
            FullHttpResponse switching = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
            switching.headers().set(HttpHeaderNames.UPGRADE, "tailscale-control-protocol").set(HttpHeaderNames.CONNECTION, "upgrade");
            ctx.writeAndFlush(switching);
            var p = ctx.pipeline();
            p.remove("http-agg");
            p.remove("http");
            byte[] earlyPlain = EarlyPayload.encode("{\"nodeKeyChallenge\":\"\"}");
            byte[] early = a.channel().tx().sealRecord(earlyPlain, 0, earlyPlain.length);
            ByteBuf out = Unpooled.buffer(a.response().length + early.length).writeBytes(a.response()).writeBytes(early);
            ctx.writeAndFlush(out);
            p.addLast("ts2021-records", new NoiseRecordCodec(a.channel().rx(), a.channel().tx()));
            p.addLast("h2", Http2FrameCodecBuilder.forServer().build());
            p.addLast("h2-streams", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                @Override
                protected void initChannel(Http2StreamChannel s) {
                    s.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true), new HttpObjectAggregator(1 << 20),
                            new Streams(maps));
                }
            }));
            p.remove(this);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Register (authorized at once) and the map stream (the recorded maps, then held open); other requests: 200. */
    private static final class Streams extends SimpleChannelInboundHandler<FullHttpRequest> {
        private static final byte[] REGISTERED = ("{\"User\":{\"ID\":1,\"LoginName\":\"warmup\",\"DisplayName\":\"warmup\"},"
                + "\"Login\":{\"ID\":1,\"LoginName\":\"warmup\",\"DisplayName\":\"warmup\"},\"NodeKeyExpired\":false,"
                + "\"MachineAuthorized\":true,\"AuthURL\":\"\"}").getBytes(StandardCharsets.UTF_8);
        private final byte[] maps;

        Streams(byte[] maps) {
            this.maps = maps;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            if (req.uri().startsWith("/machine/map") && req.content().toString(StandardCharsets.UTF_8).contains("\"Stream\":true")) {
                DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
                ctx.write(r);
                ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(maps)));
                return;
            }
            byte[] body = req.uri().startsWith("/machine/register") ? REGISTERED : new byte[0];
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json").setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            ctx.writeAndFlush(r);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
