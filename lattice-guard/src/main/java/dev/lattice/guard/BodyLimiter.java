package dev.lattice.guard;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * Sits between an HTTP codec (HTTP/1 or an HTTP/2 stream's object codec) and the aggregator, and keeps request
 * bodies within the connection's limits: a body larger than the connection may send gets 413 before it is
 * buffered, and a body that would overdraw the connection's, its source's or the server's budget of bytes in
 * flight gets 503, so memory is shed instead of exhausted. Bytes are charged while they are on their way to the
 * handler and given back once the request is complete.
 *
 * <p>An {@link UploadGate} may grant a larger body to an authenticated request (an admin uploading a policy): it
 * decides from the request head, before a byte of the body is accepted; meanwhile the connection stops reading.
 *
 * <p>A refused request's connection is closed the way Go's {@code net/http} closes one whose body it did not read:
 * the answer is sent, then the write side is shut and whatever the client still sends is read and dropped for at
 * most {@link #LINGER_MILLIS} before the socket closes. Closing a socket with unread bytes makes the kernel send a
 * reset, and a reset that reaches the client before it read the answer takes the answer with it: the client would
 * see its connection fail instead of the 401 or 413.
 */
public final class BodyLimiter extends ChannelInboundHandlerAdapter {
    /** Decides on large uploads from the request head alone. */
    @FunctionalInterface
    public interface UploadGate {
        /**
         * Null when {@code head} is not a gated upload (the connection's usual limit applies); otherwise a stage with
         * the body limit granted, or 0 to refuse the request with 401 without reading its body.
         */
        CompletionStage<Integer> limitFor(HttpRequest head);
    }

    /** How long a refused connection keeps draining what its client still sends (Go's rstAvoidanceDelay). */
    static final long LINGER_MILLIS = 500;

    private final int unguardedMax;
    private final UploadGate gate;
    private ConnectionGuard.Conn conn;
    private int max;
    private boolean authenticated;
    private long received;
    private long reserved;
    private boolean rejected;
    /** Answered and closing: everything that still arrives is dropped. */
    private boolean closing;
    /** Contents that arrived while the gate was deciding; at most one socket read's worth. */
    private ArrayDeque<Object> held;

    /** @param unguardedMax the body limit when the channel is not guarded (tests, local sockets) */
    public BodyLimiter(int unguardedMax) {
        this(unguardedMax, null);
    }

    public BodyLimiter(int unguardedMax, UploadGate gate) {
        this.unguardedMax = unguardedMax;
        this.gate = gate;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (held != null) {
            held.add(msg);
            return;
        }
        if (msg instanceof HttpRequest req) {
            giveBack();
            received = 0;
            rejected = false;
            authenticated = false;
            conn = ConnectionGuard.of(ctx.channel());
            max = conn == null ? unguardedMax : conn.maxBody();
            CompletionStage<Integer> granted = gate == null ? null : gate.limitFor(req);
            if (granted != null) {
                hold(ctx, msg, granted);
                return;
            }
            if (HttpUtil.getContentLength(req, -1L) > max) {
                reject(ctx, msg, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large (limit " + max + " bytes)");
                return;
            }
        }
        accept(ctx, msg);
    }

    private void accept(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpContent content) {
            if (rejected) {
                ReferenceCountUtil.release(msg);
                return;
            }
            int n = content.content().readableBytes();
            received += n;
            if (received > max) {
                reject(ctx, msg, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large (limit " + max + " bytes)");
                return;
            }
            if (conn != null && n > 0) {
                if (!(authenticated ? conn.reserveTrusted(n) : conn.reserve(n))) {
                    reject(ctx, msg, HttpResponseStatus.SERVICE_UNAVAILABLE, "server busy, try again later");
                    return;
                }
                reserved += n;
            }
            if (msg instanceof LastHttpContent) {
                ctx.fireChannelRead(msg);
                giveBack();
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** Stops reading until the gate decides on {@code head}; what arrives meanwhile waits in {@link #held}. */
    private void hold(ChannelHandlerContext ctx, Object head, CompletionStage<Integer> granted) {
        held = new ArrayDeque<>();
        ctx.channel().config().setAutoRead(false);
        granted.whenComplete((limit, err) -> ctx.executor().execute(() -> {
            ArrayDeque<Object> queued = held;
            held = null;
            if (!ctx.channel().isActive()) {
                // Closed while the gate decided: what was held is gone already, the head goes too.
                ReferenceCountUtil.release(head);
                queued.forEach(ReferenceCountUtil::release);
                return;
            }
            if (err != null || limit == null || limit <= 0) {
                reject(ctx, head, HttpResponseStatus.UNAUTHORIZED, "Unauthorized");
                queued.forEach(ReferenceCountUtil::release);
                return;
            }
            authenticated = true;
            max = limit;
            if (HttpUtil.getContentLength((HttpRequest) head, -1L) > max) {
                reject(ctx, head, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large (limit " + max + " bytes)");
                queued.forEach(ReferenceCountUtil::release);
                return;
            }
            ctx.fireChannelRead(head);
            // What came with the head may include the next (pipelined) request: it is read as if it arrived now,
            // with its own limit and, if gated, its own decision (which then holds the rest).
            for (Object m : queued) channelRead(ctx, m);
            if (held == null) {
                ctx.channel().config().setAutoRead(true);
                ctx.read();
            }
        }));
    }

    private void reject(ChannelHandlerContext ctx, Object msg, HttpResponseStatus status, String text) {
        ReferenceCountUtil.release(msg);
        giveBack();
        if (rejected || closing) return;
        rejected = true;
        closing = true;
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(text + "\n", StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes())
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(r).addListener(f -> closeLingering(ctx.channel()));
    }

    /** Shuts the write side, drains the read side for {@link #LINGER_MILLIS}, then closes (see the class comment). */
    private static void closeLingering(Channel ch) {
        if (!(ch instanceof DuplexChannel duplex) || !ch.isActive()) {
            // An HTTP/2 stream (its reset is a frame, not the socket's) or a connection already gone.
            ch.close();
            return;
        }
        duplex.shutdownOutput().addListener(f -> {
            if (!f.isSuccess()) {
                ch.close();
                return;
            }
            ch.config().setAutoRead(true);
            ch.read();
            ch.eventLoop().schedule(() -> ch.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
        });
    }

    private void giveBack() {
        if (conn != null && reserved > 0) {
            if (authenticated) conn.releaseTrusted(reserved);
            else conn.release(reserved);
        }
        reserved = 0;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        giveBack();
        dropHeld();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        giveBack();
        dropHeld();
    }

    private void dropHeld() {
        if (held != null) {
            held.forEach(ReferenceCountUtil::release);
            held.clear();
        }
    }
}
