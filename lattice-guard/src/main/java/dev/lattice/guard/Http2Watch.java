package dev.lattice.guard;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Watches a server-side HTTP/2 connection, placed after its {@code Http2MultiplexHandler}: closes it when it has had
 * no open stream for the idle timeout (shorter while the connection is anonymous), and sends PINGs on request that
 * must be acknowledged in time or the connection is closed. A client whose link was cut answers no PING, while its
 * TCP connection would otherwise look alive for as long as the kernel keeps retransmitting (15 minutes on Linux);
 * every HTTP/2 implementation acknowledges PINGs by itself, so this needs nothing from the client.
 */
public final class Http2Watch extends ChannelInboundHandlerAdapter {
    /** How often the idle state is checked at most; idle timeouts are honoured to within a tick. */
    static final long TICK_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final long MIN_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final Duration anonymousIdle;
    private final Duration idle;
    /** A quarter of the shorter timeout, at most {@link #TICK_NANOS}: the production defaults (30 s) tick every 5 s. */
    private final long tickNanos;
    private ChannelHandlerContext ctx;
    private Http2FrameCodec codec;
    private ScheduledFuture<?> tick;
    private long idleSince;
    private long nextPingId = 1;
    private final Map<Long, Pending> pending = new HashMap<>();

    private record Pending(long sentNanos, CompletableFuture<Duration> result, ScheduledFuture<?> timeout) {}

    public Http2Watch(Duration anonymousIdle, Duration idle) {
        this.anonymousIdle = anonymousIdle;
        this.idle = idle;
        long shorter = Math.min(anonymousIdle.toNanos(), idle.toNanos());
        this.tickNanos = Math.clamp(shorter / 4, MIN_TICK_NANOS, TICK_NANOS);
    }

    /** The watch of the connection {@code ch} belongs to ({@code ch} may be a stream), or null. */
    public static Http2Watch of(Channel ch) {
        for (Channel c = ch; c != null; c = c.parent()) {
            Http2Watch w = c.pipeline().get(Http2Watch.class);
            if (w != null) return w;
        }
        return null;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.codec = ctx.pipeline().get(Http2FrameCodec.class);
        this.idleSince = System.nanoTime();
        if (codec != null) {
            // A stream that opens and ends between two ticks is activity too: the idle time counts from its end.
            codec.connection().addListener(new Http2ConnectionAdapter() {
                @Override
                public void onStreamClosed(Http2Stream stream) {
                    idleSince = System.nanoTime();
                }
            });
        }
        this.tick = ctx.executor().scheduleWithFixedDelay(this::checkIdle, tickNanos, tickNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stop();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        stop();
        super.channelInactive(ctx);
    }

    /**
     * Sends a PING; the result completes with the round-trip time when the ACK arrives, or fails with a
     * {@link TimeoutException} after {@code timeout}, when the connection is closed. Callable from any thread.
     */
    public CompletableFuture<Duration> ping(Duration timeout) {
        CompletableFuture<Duration> result = new CompletableFuture<>();
        ChannelHandlerContext c = ctx;
        if (c == null) {
            result.completeExceptionally(new IllegalStateException("not attached"));
            return result;
        }
        c.executor().execute(() -> {
            if (!c.channel().isActive()) {
                result.completeExceptionally(new IllegalStateException("connection closed"));
                return;
            }
            long id = nextPingId++;
            ScheduledFuture<?> t = c.executor().schedule(() -> {
                Pending p = pending.remove(id);
                if (p == null) return;
                p.result().completeExceptionally(new TimeoutException("no PING acknowledgement within " + timeout));
                c.close();
            }, timeout.toNanos(), TimeUnit.NANOSECONDS);
            pending.put(id, new Pending(System.nanoTime(), result, t));
            c.writeAndFlush(new DefaultHttp2PingFrame(id, false));
        });
        return result;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2PingFrame ping && ping.ack()) {
            Pending p = pending.remove(ping.content());
            if (p != null) {
                p.timeout().cancel(false);
                p.result().complete(Duration.ofNanos(System.nanoTime() - p.sentNanos()));
            }
            ReferenceCountUtil.release(msg);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    private void checkIdle() {
        if (codec == null || !ctx.channel().isActive()) return;
        long now = System.nanoTime();
        if (codec.connection().numActiveStreams() > 0) {
            idleSince = now;
            return;
        }
        ConnectionGuard.Conn conn = ConnectionGuard.of(ctx.channel());
        Duration limit = conn != null && conn.isPromoted() ? idle : anonymousIdle;
        if (now - idleSince >= limit.toNanos()) ctx.close();
    }

    private void stop() {
        if (tick != null) {
            tick.cancel(false);
            tick = null;
        }
        for (Pending p : pending.values()) {
            p.timeout().cancel(false);
            p.result().completeExceptionally(new IllegalStateException("connection closed"));
        }
        pending.clear();
    }
}
