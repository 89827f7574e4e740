package dev.lattice.control.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.ArrayDeque;

/**
 * Counts each request once its response status leaves: the route of the request (see {@link RouteNames}) and the
 * status. Placed right after the HTTP codec, it sees every response, including those of handlers further on that
 * refuse a request (body limits, deadlines) and the 101 of an upgrade. Requests a client pipelines are matched to
 * responses in order.
 */
public final class HttpMetricsHandler extends ChannelDuplexHandler {
    /** Where a request's route and status go. */
    @FunctionalInterface
    public interface Sink {
        void request(String route, int status);
    }

    private final Sink sink;
    private final ArrayDeque<String> pending = new ArrayDeque<>(2);

    public HttpMetricsHandler(Sink sink) {
        this.sink = sink;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest req && pending.size() < 64) {
            String route;
            try {
                route = RouteNames.of(new QueryStringDecoder(req.uri()).path());
            } catch (IllegalArgumentException e) {
                route = "other";
            }
            pending.addLast(route);
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpResponse r && r.status().code() != HttpResponseStatus.CONTINUE.code()) {
            String route = pending.pollFirst();
            sink.request(route == null ? "other" : route, r.status().code());
        }
        super.write(ctx, msg, promise);
    }
}
