package dev.lattice.control.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Between the HTTP codec and the aggregator: gives each request the aggregator its body may need. Most requests get
 * the default bound. One that {@link LargeBodies#mayBeLarge may be large} and announces (or may send, chunked) more
 * than the default is held, with reading paused, while {@link LargeBodies#limit} decides on a worker thread (an API
 * key check); then the aggregator is swapped for one of that size and the request goes on. So an anonymous client
 * cannot make the server buffer more than the default, and an admin's large policy is not refused for its size.
 */
final class BodyLimitGate extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(BodyLimitGate.class);

    private final LargeBodies large;
    private final Executor workers;
    private final String aggregatorName;
    private final int defaultLimit;
    /** Messages not yet passed on, in order: the codec may decode more before reading pauses. */
    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private boolean waiting;
    private boolean removed;
    private int current;

    BodyLimitGate(LargeBodies large, Executor workers, String aggregatorName, int defaultLimit) {
        this.large = large;
        this.workers = workers;
        this.aggregatorName = aggregatorName;
        this.defaultLimit = defaultLimit;
        this.current = defaultLimit;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        held.add(msg);
        drain(ctx);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!waiting) ctx.fireChannelReadComplete();
    }

    private void drain(ChannelHandlerContext ctx) {
        while (!waiting && !held.isEmpty() && !removed) {
            Object m = held.poll();
            if (m instanceof HttpRequest req) {
                if (mayExceedDefault(req) && large.mayBeLarge(req)) {
                    decide(ctx, req);
                    return;
                }
                use(ctx, defaultLimit);
            }
            ctx.fireChannelRead(m);
        }
    }

    private boolean mayExceedDefault(HttpRequest req) {
        return HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > defaultLimit;
    }

    private void decide(ChannelHandlerContext ctx, HttpRequest req) {
        waiting = true;
        ctx.channel().config().setAutoRead(false);
        try {
            workers.execute(() -> {
                int limit;
                try {
                    limit = large.limit(req);
                } catch (RuntimeException e) {
                    log.warn("deciding the body limit for {} {} failed: {}", req.method(), req.uri(), e.toString());
                    limit = 0;
                }
                int l = limit;
                ctx.executor().execute(() -> resume(ctx, req, l));
            });
        } catch (RejectedExecutionException e) {
            resume(ctx, req, 0); // shutting down
        }
    }

    private void resume(ChannelHandlerContext ctx, HttpRequest req, int limit) {
        waiting = false;
        if (removed || !ctx.channel().isActive()) {
            ReferenceCountUtil.release(req);
            return;
        }
        use(ctx, limit > defaultLimit ? limit : defaultLimit);
        ctx.fireChannelRead(req);
        drain(ctx);
        if (!waiting && !removed) {
            ctx.fireChannelReadComplete();
            ctx.channel().config().setAutoRead(true);
        }
    }

    /** Swaps the aggregator between messages, when the next one needs another bound. */
    private void use(ChannelHandlerContext ctx, int limit) {
        if (limit == current) return;
        ctx.pipeline().replace(aggregatorName, aggregatorName, new BoundedAggregator(limit, "request body"));
        current = limit;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        removed = true;
        while (!held.isEmpty()) ReferenceCountUtil.release(held.poll());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        while (!held.isEmpty()) ReferenceCountUtil.release(held.poll());
        ctx.fireChannelInactive();
    }
}
