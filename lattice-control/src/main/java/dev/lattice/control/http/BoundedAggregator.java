package dev.lattice.control.http;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;

/**
 * Netty's aggregator, but a body over the limit is answered with a one-line 413 that names the limit instead of an
 * empty one, so a client (our CLI) can tell its user what went wrong. Connection handling is Netty's: the connection
 * stays open (the rest of the body is read and dropped) when the client expects to keep it, else it is closed.
 */
public final class BoundedAggregator extends HttpObjectAggregator {
    private final String message;

    /** @param what how the message names what was too large, e.g. "request body" */
    public BoundedAggregator(int maxContentLength, String what) {
        super(maxContentLength);
        this.message = what + " is larger than " + size(maxContentLength);
    }

    public int limit() {
        return maxContentLength();
    }

    /** Whole KiB or MiB when exact, else bytes. */
    static String size(long bytes) {
        if (bytes >= 1 << 20 && bytes % (1 << 20) == 0) return (bytes >> 20) + " MiB";
        if (bytes >= 1 << 10 && bytes % (1 << 10) == 0) return (bytes >> 10) + " KiB";
        return bytes + " bytes";
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
        if (!(oversized instanceof HttpRequest)) {
            super.handleOversizedMessage(ctx, oversized);
            return;
        }
        FullHttpResponse r = HttpResponses.text(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, message);
        // Part of the body already read (or the client will not wait): the connection cannot be reused.
        boolean close = oversized instanceof FullHttpMessage
                || !HttpUtil.is100ContinueExpected(oversized) && !HttpUtil.isKeepAlive(oversized);
        HttpUtil.setKeepAlive(r, !close);
        ctx.writeAndFlush(r).addListener(close ? ChannelFutureListener.CLOSE : ChannelFutureListener.CLOSE_ON_FAILURE);
    }
}
