package dev.lattice.control.http;

import dev.lattice.control.noise.Ts2021Upgrader;
import dev.lattice.guard.LogLimiter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Last handler of the HTTP/1.1 pipeline: the ts2021 upgrade on the event loop, other routes on a virtual thread. */
final class FrontHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(FrontHandler.class);
    /** A route that fails is our bug, and worth its stack trace, but not once per request of a flood. */
    private static final LogLimiter failures = LogLimiter.perMinute(log);

    private final Ts2021Upgrader upgrader;
    private final Routes routes;
    private final ExecutorService workers;

    /** @param upgrader null on listeners without the control protocol (metrics) */
    FrontHandler(Ts2021Upgrader upgrader, Routes routes, ExecutorService workers) {
        this.upgrader = upgrader;
        this.routes = routes;
        this.workers = workers;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (!req.decoderResult().isSuccess()) {
            HttpResponses.send(ctx, null, HttpResponses.text(HttpResponseStatus.BAD_REQUEST, "malformed request"));
            return;
        }
        String path = new QueryStringDecoder(req.uri()).path();
        if (upgrader != null && path.equals("/ts2021")) {
            upgrader.upgrade(ctx, req);
            return;
        }
        FullHttpRequest copy = req.retainedDuplicate();
        workers.execute(() -> {
            try {
                FullHttpResponse r = routes.handle(copy);
                HttpResponses.send(ctx, copy, r != null ? r : HttpResponses.text(HttpResponseStatus.NOT_FOUND, "not found"));
            } catch (Exception | Error e) {
                if (failures.warn(path, "{} {} failed: {}", copy.method(), path, e.toString())) log.debug("{} {} failed", copy.method(), path, e);
                HttpResponses.send(ctx, null, HttpResponses.text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error"));
            } finally {
                copy.release();
            }
        });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("HTTP connection from {} failed: {}", ctx.channel().remoteAddress() instanceof InetSocketAddress a
                ? a.getAddress() : ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
