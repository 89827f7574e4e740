package dev.lattice.derp.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.ssl.SslHandler;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A WebSocket carrying a byte stream, as tailscale's {@code wsconn} does for DERP ({@code derp} subprotocol) and for
 * ts2021 (its browser client): the server side of the RFC 6455 handshake on an HTTP/1.1 pipeline, then frame codecs
 * and an adapter, after which the handlers that follow read and write plain {@link ByteBuf}s. Every binary message
 * the peer sends is a run of stream bytes; every buffer written leaves as one binary message. Text frames are a
 * protocol error, pings are answered, a close is echoed. No extensions (compression) are negotiated: the payload
 * is encrypted and would not compress, as tailscale's servers reason too.
 */
public final class WebSocketStream {
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private WebSocketStream() {}

    /** Whether {@code req} asks for a WebSocket speaking {@code subprotocol} (among those it offers). */
    public static boolean wants(FullHttpRequest req, String subprotocol) {
        String up = req.headers().get(HttpHeaderNames.UPGRADE, "");
        return up.toLowerCase(Locale.ROOT).equals("websocket") && offers(req, subprotocol);
    }

    private static boolean offers(FullHttpRequest req, String subprotocol) {
        for (String offered : req.headers().getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL)) {
            for (String p : offered.split(",")) if (p.strip().equals(subprotocol)) return true;
        }
        return false;
    }

    /**
     * Answers the handshake with 101 and {@code subprotocol}, then replaces every handler after the optional
     * {@link SslHandler} with the WebSocket codecs and {@code next} (in order), which from then on see the stream's
     * bytes. A request that is not a valid WebSocket handshake gets a 400 and is closed; returns whether it was
     * accepted.
     *
     * @param maxMessage the largest message the peer may send (larger ones close the connection)
     */
    public static boolean accept(ChannelHandlerContext ctx, FullHttpRequest req, String subprotocol, int maxMessage,
            Map<String, ChannelHandler> next) {
        String key = req.headers().get(HttpHeaderNames.SEC_WEBSOCKET_KEY);
        String version = req.headers().get(HttpHeaderNames.SEC_WEBSOCKET_VERSION);
        if (key == null || key.isBlank() || !"13".equals(version) || !offers(req, subprotocol)) {
            FullHttpResponse bad = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.BAD_REQUEST,
                    Unpooled.copiedBuffer("invalid WebSocket handshake (version 13 and subprotocol " + subprotocol + " required)\n",
                            StandardCharsets.UTF_8));
            bad.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, bad.content().readableBytes())
                    .set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
            ctx.writeAndFlush(bad).addListener(ChannelFutureListener.CLOSE);
            return false;
        }
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
        res.headers().set(HttpHeaderNames.UPGRADE, "websocket").set(HttpHeaderNames.CONNECTION, "Upgrade")
                .set(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT, acceptValue(key.strip()))
                .set(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL, subprotocol);
        ctx.writeAndFlush(res); // encoded now by the HTTP codec, so it precedes every frame

        ChannelPipeline p = ctx.pipeline();
        List<String> remove = new ArrayList<>();
        boolean afterSsl = p.get(SslHandler.class) == null;
        for (Map.Entry<String, ChannelHandler> e : p) {
            if (afterSsl) remove.add(e.getKey());
            else if (e.getValue() instanceof SslHandler) afterSsl = true;
        }
        p.addLast("ws-decoder", new WebSocket13FrameDecoder(WebSocketDecoderConfig.newBuilder().expectMaskedFrames(true)
                .allowExtensions(false).maxFramePayloadLength(maxMessage).build()));
        p.addLast("ws-encoder", new WebSocket13FrameEncoder(false));
        p.addLast("ws-stream", new Adapter());
        next.forEach(p::addLast);
        // From the back, so that bytes the HTTP decoder still holds flow on into the frame decoder.
        for (int i = remove.size() - 1; i >= 0; i--) {
            if (p.context(remove.get(i)) != null) p.remove(remove.get(i));
        }
        return true;
    }

    /** RFC 6455: base64(SHA-1(key + GUID)). */
    static String acceptValue(String key) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-1").digest((key + GUID).getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Frames in, stream bytes out (and back). */
    static final class Adapter extends ChannelDuplexHandler {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof WebSocketFrame f)) {
                ctx.fireChannelRead(msg);
                return;
            }
            switch (f) {
                case BinaryWebSocketFrame b -> ctx.fireChannelRead(b.content());
                case ContinuationWebSocketFrame c -> ctx.fireChannelRead(c.content());
                case PingWebSocketFrame ping -> ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
                case PongWebSocketFrame pong -> pong.release();
                case CloseWebSocketFrame close -> {
                    close.release();
                    ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE)).addListener(ChannelFutureListener.CLOSE);
                }
                default -> {
                    f.release();
                    ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.INVALID_MESSAGE_TYPE, "binary messages only"))
                            .addListener(ChannelFutureListener.CLOSE);
                }
            }
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof ByteBuf b && !(msg instanceof WebSocketFrame)) ctx.write(new BinaryWebSocketFrame(b), promise);
            else ctx.write(msg, promise);
        }
    }
}
