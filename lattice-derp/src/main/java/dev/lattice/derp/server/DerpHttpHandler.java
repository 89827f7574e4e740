package dev.lattice.derp.server;

import dev.lattice.derp.transport.FrameDecoder;
import dev.lattice.derp.transport.WebSocketStream;
import dev.lattice.wire.derp.Derp;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslHandler;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The HTTP side of DERP (tailscale {@code derpserver/handler.go}), for a pipeline with {@code HttpServerCodec} and
 * {@code HttpObjectAggregator} before it. On {@code GET /derp} with {@code Upgrade: DERP} it answers 101, removes
 * every handler after the optional {@link SslHandler} and installs the DERP frame handlers; bytes the client sent
 * after the request flow on into them. With {@code Upgrade: websocket} and the {@code derp} subprotocol (tailscale's
 * {@code TS_DEBUG_DERP_WS_CLIENT}, browsers, proxies that pass only WebSockets) the same DERP connection runs inside
 * a WebSocket ({@link WebSocketStream}).
 */
@ChannelHandler.Sharable
final class DerpHttpHandler extends ChannelInboundHandlerAdapter {
    static final String CHALLENGE_HEADER = "X-Tailscale-Challenge";
    static final String RESPONSE_HEADER = "X-Tailscale-Response";
    static final String WS_SUBPROTOCOL = "derp";
    /** A client writes each DERP frame (at most 64 KiB of packet plus header) as one message, or less. */
    static final int WS_MAX_MESSAGE = 1 << 20;

    private final DerpServer server;

    DerpHttpHandler(DerpServer server) {
        this.server = server;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req)) {
            ctx.fireChannelRead(msg);
            return;
        }
        String path = new QueryStringDecoder(req.uri()).path();
        switch (path) {
            case "/derp/probe", "/derp/latency-check" -> {
                try {
                    probe(ctx, req);
                } finally {
                    req.release();
                }
            }
            case "/generate_204" -> {
                try {
                    noContent(ctx, req);
                } finally {
                    req.release();
                }
            }
            case "/derp" -> {
                try {
                    derp(ctx, req);
                } finally {
                    req.release();
                }
            }
            default -> ctx.fireChannelRead(msg);
        }
    }

    private static void probe(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (req.method().equals(HttpMethod.GET) || req.method().equals(HttpMethod.HEAD)) {
            respond(ctx, req, HttpResponseStatus.OK, "", Map.of("Access-Control-Allow-Origin", "*"));
        } else {
            respond(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "bogus probe method\n", Map.of());
        }
    }

    /** Captive-portal check: echo a well-formed challenge as "response &lt;challenge&gt;". */
    private static void noContent(ChannelHandlerContext ctx, FullHttpRequest req) {
        Map<String, String> h = new java.util.LinkedHashMap<>();
        String c = req.headers().get(CHALLENGE_HEADER);
        if (c != null && !c.isEmpty() && c.length() <= 64 && c.chars().allMatch(DerpHttpHandler::isChallengeChar)) {
            h.put(RESPONSE_HEADER, "response " + c);
        }
        h.put("Cache-Control", "no-cache, no-store, must-revalidate, no-transform, max-age=0");
        respond(ctx, req, HttpResponseStatus.NO_CONTENT, "", h);
    }

    private static boolean isChallengeChar(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == ':';
    }

    private void derp(ChannelHandlerContext ctx, FullHttpRequest req) {
        String up = req.headers().get(HttpHeaderNames.UPGRADE, "").toLowerCase(java.util.Locale.ROOT);
        if (!up.equals("derp") && !up.equals("websocket")) {
            respond(ctx, req, HttpResponseStatus.UPGRADE_REQUIRED, "DERP requires connection upgrade\n", Map.of());
            return;
        }
        if (server.isClosed()) {
            respond(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, "DERP server closing\n", Map.of());
            return;
        }
        if (up.equals("websocket")) {
            // tailscale's derpserver.AddWebSocketSupport: only clients that name the "derp" subprotocol speak
            // WebSockets (very early ones sent "Upgrade: WebSocket" with DERP's own framing, which is not served).
            if (!WebSocketStream.wants(req, WS_SUBPROTOCOL)) {
                respond(ctx, req, HttpResponseStatus.UPGRADE_REQUIRED, "DERP requires connection upgrade\n", Map.of());
                return;
            }
            ServerConnection conn = new ServerConnection(server, DerpServer.inet(ctx.channel().remoteAddress()), false);
            Map<String, ChannelHandler> next = new java.util.LinkedHashMap<>();
            next.put("derp-frames", new FrameDecoder(Derp.MAX_CLIENT_FRAME_LEN));
            next.put("derp-conn", conn);
            if (WebSocketStream.accept(ctx, req, WS_SUBPROTOCOL, WS_MAX_MESSAGE, next)) {
                server.webSocketAccepts.increment();
                conn.start();
            }
            return;
        }
        boolean fastStart = "1".equals(req.headers().get(Derp.HEADER_FAST_START));
        boolean notIdeal = req.headers().contains(Derp.HEADER_IDEAL_NODE);
        if (!fastStart) {
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS, Unpooled.EMPTY_BUFFER);
            res.headers().set(HttpHeaderNames.UPGRADE, "DERP");
            res.headers().set(HttpHeaderNames.CONNECTION, "Upgrade");
            res.headers().set(Derp.HEADER_VERSION, Integer.toString(Derp.PROTOCOL_VERSION));
            res.headers().set(Derp.HEADER_PUBLIC_KEY, server.publicKey().toHex());
            ctx.writeAndFlush(res); // encoded now by the HTTP codec, so it precedes every DERP frame
        }
        ServerConnection conn = new ServerConnection(server, DerpServer.inet(ctx.channel().remoteAddress()), notIdeal);
        ChannelPipeline p = ctx.pipeline();
        List<String> remove = new ArrayList<>();
        boolean afterSsl = p.get(SslHandler.class) == null;
        for (Map.Entry<String, ChannelHandler> e : p) {
            if (afterSsl) remove.add(e.getKey());
            else if (e.getValue() instanceof SslHandler) afterSsl = true;
        }
        p.addLast("derp-frames", new FrameDecoder(Derp.MAX_CLIENT_FRAME_LEN));
        p.addLast("derp-conn", conn);
        // Remove from the back so that when the HTTP decoder goes last, the next handler after it is our frame
        // decoder, which receives whatever the decoder still held (the client's first frames).
        for (int i = remove.size() - 1; i >= 0; i--) {
            if (p.context(remove.get(i)) != null) p.remove(remove.get(i));
        }
        conn.start();
    }

    private static void respond(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String body,
                                Map<String, String> headers) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                req.method().equals(HttpMethod.HEAD) ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(b));
        headers.forEach((k, v) -> res.headers().set(k, v));
        if (!body.isEmpty()) res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        if (status.code() != 204) HttpUtil.setContentLength(res, req.method().equals(HttpMethod.HEAD) ? 0 : b.length);
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        if (keepAlive) {
            if (!req.protocolVersion().isKeepAliveDefault()) res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(res);
        } else {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
