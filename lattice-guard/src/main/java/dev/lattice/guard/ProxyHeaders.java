package dev.lattice.guard;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Who the client is when a trusted reverse proxy connects for it, as Headscale's {@code realip.go} decides:
 * {@code True-Client-IP}, then {@code X-Real-IP}, then the rightmost {@code X-Forwarded-For} entry that is not itself a
 * trusted proxy (so a client cannot win by prepending). The connection is then counted against that client's cap.
 * From peers that are not trusted proxies the headers are removed, so nothing downstream can be fooled by them.
 */
@ChannelHandler.Sharable
public final class ProxyHeaders extends ChannelInboundHandlerAdapter {
    static final List<String> HEADERS = List.of("True-Client-IP", "X-Real-IP", "X-Forwarded-For");

    private final Predicate<InetAddress> trusted;

    public ProxyHeaders(Predicate<InetAddress> trusted) {
        this.trusted = trusted;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            InetAddress peer = ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
            if (peer == null || !trusted.test(peer)) {
                for (String h : HEADERS) req.headers().remove(h);
            } else {
                InetAddress client = clientOf(req.headers(), trusted);
                ConnectionGuard.Conn conn = ConnectionGuard.of(ctx.channel());
                if (client != null && conn != null && !conn.attributeTo(client)) {
                    ReferenceCountUtil.release(msg);
                    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SERVICE_UNAVAILABLE,
                            Unpooled.copiedBuffer("too many connections from your address\n", StandardCharsets.UTF_8));
                    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                            .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes())
                            .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                    ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
                    return;
                }
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** The client address the headers name, or null when they name none. */
    static InetAddress clientOf(HttpHeaders h, Predicate<InetAddress> trusted) {
        InetAddress a = single(h.get("True-Client-IP"));
        if (a != null) return a;
        a = single(h.get("X-Real-IP"));
        if (a != null) return a;
        List<String> all = h.getAll("X-Forwarded-For");
        for (int i = all.size() - 1; i >= 0; i--) {
            String[] parts = all.get(i).split(",");
            for (int j = parts.length - 1; j >= 0; j--) {
                InetAddress x = literal(parts[j]);
                if (x == null) return null; // a malformed hop: trust nothing left of it
                if (!trusted.test(x)) return x;
            }
        }
        return null;
    }

    private static InetAddress single(String v) {
        return v == null ? null : literal(v);
    }

    /**
     * An IP literal (no DNS lookups, ever), with an optional port or brackets as proxies sometimes add. As strict as
     * Go's {@code net.ParseIP}, which Headscale's realip uses: IPv4 only as four decimal parts without leading zeros
     * ({@code 127.1} and {@code 010.0.0.1} are not addresses there), IPv6 without a zone.
     */
    static InetAddress literal(String s) {
        String t = s.trim();
        if (t.isEmpty() || t.length() > 64) return null;
        if (t.startsWith("[")) {
            int end = t.indexOf(']');
            if (end < 0) return null;
            t = t.substring(1, end);
        } else if (t.indexOf(':') >= 0 && t.indexOf(':') == t.lastIndexOf(':') && t.indexOf('.') > 0) {
            t = t.substring(0, t.indexOf(':')); // 1.2.3.4:5678
        }
        if (t.indexOf(':') >= 0 ? t.indexOf('%') >= 0 : !DOTTED_QUAD.matcher(t).matches()) return null;
        try {
            return InetAddress.ofLiteral(t);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static final Pattern DOTTED_QUAD =
            Pattern.compile("(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"
                    + "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])");
}
