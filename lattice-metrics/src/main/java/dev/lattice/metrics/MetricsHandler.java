package dev.lattice.metrics;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;

/** {@code GET /metrics} in Prometheus text format; anything else is a plain-text 404 (or 405). */
@ChannelHandler.Sharable
public final class MetricsHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final Metrics metrics;

    public MetricsHandler(Metrics metrics) {
        this.metrics = metrics;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        FullHttpResponse r;
        if (!req.decoderResult().isSuccess()) {
            r = text(HttpResponseStatus.BAD_REQUEST, "malformed request");
        } else if (!new QueryStringDecoder(req.uri()).path().equals("/metrics")) {
            r = text(HttpResponseStatus.NOT_FOUND, "not found: try /metrics");
        } else if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.HEAD)) {
            r = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "method not allowed");
        } else {
            byte[] body = metrics.scrape();
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    req.method().equals(HttpMethod.HEAD) ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, Metrics.CONTENT_TYPE).setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        }
        boolean keepAlive = HttpUtil.isKeepAlive(req) && r.status().code() < 400;
        if (keepAlive) ctx.writeAndFlush(r);
        else ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }

    static FullHttpResponse text(HttpResponseStatus status, String text) {
        byte[] b = (text + "\n").getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(b));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8").setInt(HttpHeaderNames.CONTENT_LENGTH, b.length);
        return r;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
