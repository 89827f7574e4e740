package dev.lattice.guard;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * An absolute deadline for a whole request to arrive, placed after the aggregator. A read timeout alone never fires
 * on a client that trickles one header byte at a time; this does. The clock starts when the handler is added (the
 * connection or stream opens) and, with {@code keepAlive}, again when a response has been written, so an idle
 * keep-alive connection must send its next request within the same time. A request being handled is not timed,
 * nor is the connection while any request is (pipelined requests arrive together and are answered one by one).
 * When the deadline passes the channel is closed (for an HTTP/2 stream: reset).
 */
public final class RequestDeadline extends ChannelDuplexHandler {
    private final long timeoutNanos;
    private final boolean keepAlive;
    private ScheduledFuture<?> timer;
    /** Requests read and not yet answered. */
    private int handling;

    public RequestDeadline(Duration timeout, boolean keepAlive) {
        this.timeoutNanos = timeout.toNanos();
        this.keepAlive = keepAlive;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        arm(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        disarm();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        disarm();
        super.channelInactive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof FullHttpRequest) {
            handling++;
            disarm();
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (keepAlive && msg instanceof LastHttpContent) {
            ChannelPromise p = promise.unvoid();
            p.addListener(f -> {
                if (handling > 0) handling--;
                if (handling == 0 && f.isSuccess() && ctx.channel().isActive()) arm(ctx);
            });
            ctx.write(msg, p);
            return;
        }
        ctx.write(msg, promise);
    }

    private void arm(ChannelHandlerContext ctx) {
        disarm();
        timer = ctx.executor().schedule(() -> {
            timer = null;
            ctx.close();
        }, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    private void disarm() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
