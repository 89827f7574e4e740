package dev.lattice.control.noise;

import dev.lattice.controlclient.NoiseRecordCodec;
import dev.lattice.derp.transport.WebSocketStream;
import dev.lattice.crypto.X25519;
import dev.lattice.crypto.key.ChallengePublicKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.wire.ts2021.ControlHandshake;
import dev.lattice.wire.ts2021.ControlMessages;
import dev.lattice.wire.ts2021.ControlProtocolException;
import dev.lattice.wire.ts2021.EarlyPayload;
import dev.lattice.control.http.HttpMetricsHandler;
import dev.lattice.guard.BodyLimiter;
import dev.lattice.guard.CloseOnError;
import dev.lattice.guard.Http2Watch;
import dev.lattice.guard.Limits;
import dev.lattice.guard.LogLimiter;
import dev.lattice.guard.RequestDeadline;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns an HTTP/1.1 {@code POST /ts2021} into a ts2021 channel, as tailscale's controlhttpserver does: 101 first,
 * then the Noise response (or an error message), then the early payload, all before the client speaks HTTP/2.
 * The HTTP/1 handlers are replaced by {@link NoiseRecordCodec} and an HTTP/2 server whose streams are served by
 * the handler that {@code streamHandler} makes for the session.
 */
public final class Ts2021Upgrader {
    public static final String UPGRADE_VALUE = "tailscale-control-protocol";
    public static final String HANDSHAKE_HEADER = "X-Tailscale-Handshake";
    /** The most any request body may be; headscale's cap. Anonymous connections get far less ({@link Limits}). */
    public static final int MAX_BODY = 1 << 20;
    /** Header block limit per request: a client's are a few hundred bytes. */
    static final int MAX_HEADER_LIST = 16 << 10;
    /** The largest WebSocket message a client may send: Noise records are at most 4 KiB, written one a message or less. */
    static final int MAX_WS_MESSAGE = 64 << 10;
    /** How long an upgraded client may stay silent before its first record. */
    public static final int HANDSHAKE_TIMEOUT_SECONDS = 30;

    private static final Logger log = LoggerFactory.getLogger(Ts2021Upgrader.class);

    private static final LogLimiter strangers = LogLimiter.perMinute(log);

    private final MachinePrivateKey controlKey;
    private final int minVersion;
    private final Limits limits;
    private final Function<ControlSession, ChannelHandler> streamHandler;
    private final HttpMetricsHandler.Sink requests;
    private final CloseOnError closeOnError = new CloseOnError(strangers, "control connection");

    /**
     * @param minVersion clients announcing a lower capability version are refused in the handshake, with a message
     * @param limits streams per connection, request deadlines and idle timeouts (body limits come from the guard)
     * @param streamHandler makes the handler for each HTTP/2 stream (it sees FullHttpRequests); called per stream
     */
    public Ts2021Upgrader(MachinePrivateKey controlKey, int minVersion, Limits limits,
            Function<ControlSession, ChannelHandler> streamHandler) {
        this(controlKey, minVersion, limits, streamHandler, null);
    }

    /** @param requests where each stream's request route and response status are counted (may be null) */
    public Ts2021Upgrader(MachinePrivateKey controlKey, int minVersion, Limits limits,
            Function<ControlSession, ChannelHandler> streamHandler, HttpMetricsHandler.Sink requests) {
        this.requests = requests;
        this.controlKey = controlKey;
        this.minVersion = minVersion;
        this.limits = limits;
        this.streamHandler = streamHandler;
    }

    /** Handles the upgrade request; {@code ctx} is the HTTP handler that received it (it is removed). */
    public void upgrade(ChannelHandlerContext ctx, FullHttpRequest req) {
        String next = req.headers().get(HttpHeaderNames.UPGRADE);
        if (next == null || next.isEmpty()) {
            strangers.warn(sourceOf(ctx.channel()), "ts2021 request from {} without an Upgrade header; a reverse proxy in front of "
                    + "the server must pass upgrades through (proxy_http_version 1.1; Upgrade and Connection headers)",
                    ctx.channel().remoteAddress());
            plainError(ctx, HttpResponseStatus.BAD_REQUEST, "missing next protocol");
            return;
        }
        if (next.equalsIgnoreCase("websocket")) {
            upgradeWebSocket(ctx, req);
            return;
        }
        if (!next.equalsIgnoreCase(UPGRADE_VALUE)) {
            plainError(ctx, HttpResponseStatus.BAD_REQUEST, "unknown next protocol");
            return;
        }
        String initB64 = req.headers().get(HANDSHAKE_HEADER);
        if (initB64 == null || initB64.isEmpty()) {
            plainError(ctx, HttpResponseStatus.BAD_REQUEST, "missing Tailscale handshake header");
            return;
        }
        byte[] init;
        try {
            init = Base64.getDecoder().decode(initB64.trim());
        } catch (IllegalArgumentException e) {
            plainError(ctx, HttpResponseStatus.BAD_REQUEST, "invalid tailscale handshake header");
            return;
        }

        FullHttpResponse switching = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
        switching.headers().set(HttpHeaderNames.UPGRADE, UPGRADE_VALUE).set(HttpHeaderNames.CONNECTION, "upgrade");
        ctx.writeAndFlush(switching);
        Channel ch = ctx.channel();
        removeHttpHandlers(ch.pipeline());
        establish(ch, init, true);
    }

    /**
     * ts2021 inside a WebSocket, as tailscale's browser client dials it (controlhttpserver's acceptWebsocket):
     * {@code GET /ts2021?X-Tailscale-Handshake=<base64>} with {@code Upgrade: websocket} and the
     * {@code tailscale-control-protocol} subprotocol. After the WebSocket handshake the connection is the one an
     * HTTP upgrade makes (Noise records, HTTP/2, the same limits and watch), without an early payload, as there.
     */
    private void upgradeWebSocket(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (!WebSocketStream.wants(req, UPGRADE_VALUE)) {
            plainError(ctx, HttpResponseStatus.BAD_REQUEST, "client must speak the control subprotocol");
            return;
        }
        List<String> param = new QueryStringDecoder(req.uri()).parameters().get(HANDSHAKE_HEADER);
        String initB64 = param == null || param.isEmpty() ? null : param.getFirst();
        if (initB64 == null || initB64.isEmpty()) {
            plainError(ctx, HttpResponseStatus.BAD_REQUEST, "missing Tailscale handshake parameter");
            return;
        }
        byte[] init;
        try {
            init = Base64.getDecoder().decode(initB64.trim());
        } catch (IllegalArgumentException e) {
            plainError(ctx, HttpResponseStatus.BAD_REQUEST, "invalid tailscale handshake parameter");
            return;
        }
        if (WebSocketStream.accept(ctx, req, UPGRADE_VALUE, MAX_WS_MESSAGE, java.util.Map.of())) {
            establish(ctx.channel(), init, false);
        }
    }

    /**
     * Answers the client's Noise initiation on {@code ch}, whose pipeline now carries raw bytes (after TLS, or a
     * WebSocket), and installs the record codec and the HTTP/2 server.
     */
    private void establish(Channel ch, byte[] init, boolean earlyPayload) {
        ControlHandshake.Accepted accepted;
        try {
            accepted = ControlHandshake.accept(controlKey, init);
        } catch (ControlProtocolException e) {
            strangers.debug(sourceOf(ch), "refused ts2021 handshake from {}: {}", ch.remoteAddress(), e.getMessage());
            ch.writeAndFlush(Unpooled.wrappedBuffer(ControlMessages.error(e.getMessage()))).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ControlHandshake.Established est = accepted.channel();
        if (est.version() < minVersion) {
            String msg = "unsupported client version: capability version " + est.version() + " is older than the minimum "
                    + minVersion + "; please upgrade Tailscale";
            strangers.info(sourceOf(ch), "refused client {} from {}: capability version {} < {}", est.peer(), ch.remoteAddress(),
                    est.version(), minVersion);
            ch.writeAndFlush(Unpooled.wrappedBuffer(ControlMessages.error(msg))).addListener(ChannelFutureListener.CLOSE);
            return;
        }

        // Response and early payload leave in one write (controlhttpserver corks them too).
        byte[] out = accepted.response();
        if (earlyPayload) {
            byte[] earlyPlain = earlyPayload();
            byte[] early = est.tx().sealRecord(earlyPlain, 0, earlyPlain.length);
            out = new byte[accepted.response().length + early.length];
            System.arraycopy(accepted.response(), 0, out, 0, accepted.response().length);
            System.arraycopy(early, 0, out, accepted.response().length, early.length);
        }
        ch.writeAndFlush(Unpooled.wrappedBuffer(out));

        ControlSession session = new ControlSession(est.peer(), est.version(), ch.remoteAddress());
        ChannelPipeline p = ch.pipeline();
        // Until the client's first record arrives (the HTTP/2 preface), a silent connection is dropped.
        p.addLast(NoiseRecordCodec.HANDSHAKE_TIMEOUT_NAME, new ReadTimeoutHandler(HANDSHAKE_TIMEOUT_SECONDS));
        p.addLast("ts2021-records", new NoiseRecordCodec(est.rx(), est.tx(), true));
        // A client needs a handful of streams (the map poll, lite updates, register, c2n); Go's default of 250,
        // each buffering a body, let one stranger hold a gigabyte.
        p.addLast("h2", Http2FrameCodecBuilder.forServer()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxConcurrentStreams(limits.maxConcurrentStreams)
                        .maxHeaderListSize(MAX_HEADER_LIST))
                .validateHeaders(true)
                .build());
        p.addLast("h2-streams", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true));
                if (requests != null) stream.pipeline().addLast(new HttpMetricsHandler(requests));
                stream.pipeline().addLast(new BodyLimiter(limits.maxAnonymousBody),
                        new HttpObjectAggregator(MAX_BODY),
                        new RequestDeadline(limits.requestTimeout, false),
                        streamHandler.apply(session));
            }
        }));
        // Idle connections go; dead ones are found by PINGs (map keep-alives and route probes ask for them).
        p.addLast("h2-watch", new Http2Watch(limits.anonymousIdleTimeout, limits.idleTimeout));
        p.addLast("h2-errors", closeOnError);
        log.debug("ts2021 channel up for {} (capver {}) from {}", est.peer(), est.version(), ch.remoteAddress());
    }

    private static Object sourceOf(Channel ch) {
        return ch.remoteAddress() instanceof java.net.InetSocketAddress a ? a.getAddress() : ch.remoteAddress();
    }

    /** Each connection gets a fresh challenge key; nothing uses its private half yet (no tailnet lock). */
    private static byte[] earlyPayload() {
        ChallengePublicKey pub = new ChallengePublicKey(X25519.publicKey(X25519.newPrivateKey()));
        return EarlyPayload.encode("{\"nodeKeyChallenge\":\"" + pub.toString() + "\"}");
    }

    /** Removes every handler after the optional TLS handler, i.e. the HTTP/1 codec, aggregator and router. */
    public static void removeHttpHandlers(ChannelPipeline p) {
        List<String> names = new ArrayList<>(p.names());
        boolean afterTls = p.get(SslHandler.class) == null;
        for (String name : names) {
            ChannelHandler h = p.get(name);
            if (h == null) continue;
            if (!afterTls) {
                if (h instanceof SslHandler) afterTls = true;
                continue;
            }
            p.remove(name);
        }
    }

    private static void plainError(ChannelHandlerContext ctx, HttpResponseStatus status, String text) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(text + "\n", StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }
}
