package dev.lattice.guard;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import java.net.InetSocketAddress;
import java.util.regex.Pattern;

/**
 * The last handler of a pipeline that strangers feed: an exception that got this far means the peer sent something
 * we cannot use. It is logged as one rate-limited line (never a stack trace: the input is the attacker's, the trace
 * is ours and always the same) and the connection is closed.
 */
@ChannelHandler.Sharable
public final class CloseOnError extends ChannelInboundHandlerAdapter {
    private final LogLimiter log;
    private final String what;

    /** @param what what the connection is, for the log line ("control connection", "DERP connection") */
    public CloseOnError(LogLimiter log, String what) {
        this.log = log;
        this.what = what;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Object src = ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : ctx.channel().remoteAddress();
        log.info(src, "closing {} from {}: {}", what, printable(src), describe(cause));
        ctx.close();
    }

    static String printable(Object addr) {
        return addr instanceof java.net.InetAddress a ? a.getHostAddress() : String.valueOf(addr);
    }

    /** A hex dump, as Netty's codecs put the peer's bytes in messages ({@code ByteBufUtil.hexDump}). */
    private static final Pattern HEX_DUMP = Pattern.compile("\\p{XDigit}{16,}");

    /**
     * The cause's type and message, shortened: messages of codec errors may quote the peer's bytes, which are noise
     * in our log and may be secrets (SslHandler dumps a whole plain-text request sent to a TLS port).
     */
    static String describe(Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        String m = c.getMessage();
        if (m == null) return c.getClass().getSimpleName();
        int dump = m.indexOf(" Hex dump");
        if (dump > 0) m = m.substring(0, dump);
        m = HEX_DUMP.matcher(m).replaceAll("<bytes>");
        m = m.replaceAll("[\\p{Cntrl}]", "?");
        if (m.length() > 120) m = m.substring(0, 120) + "…";
        return c.getClass().getSimpleName() + ": " + m;
    }
}
