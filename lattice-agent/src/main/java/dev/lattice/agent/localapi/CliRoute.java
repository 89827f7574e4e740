package dev.lattice.agent.localapi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /localapi/v0/lattice-cli}: latticed runs one of the CLI's quick commands (status, ip, ping, up) for the
 * {@code lattice} process and streams what it prints. The CLI is then a small program that starts in a fraction of
 * the time a JVM needs to load picocli and Jackson (tailscale's CLI is a native binary; this keeps one codebase:
 * the daemon runs the CLI's own code, warm). Not part of tailscale's local API; official clients never call it.
 *
 * <p>Request body: the command line's arguments, each followed by a NUL byte (UTF-8). Answer: 404 when the
 * arguments are not a quick command (the CLI then runs it itself), else 200 and, until the connection closes,
 * frames of one kind byte ({@link #STDOUT}, {@link #STDERR}, {@link #EXIT}), a 4-byte big-endian length and that
 * many bytes: output in the order it was printed, then the exit code (4 bytes). The command runs with the caller's
 * own access (its peer credentials), so any user who may connect gets what the separate calls would give: an
 * {@code up} of a user who may not write is refused as its {@code POST up} would be. Arguments are never logged
 * (an {@code up}'s carry its auth key).
 */
public final class CliRoute {
    private static final Logger log = LoggerFactory.getLogger(CliRoute.class);
    public static final String PATH = LocalApiRoutes.PREFIX + "lattice-cli";
    public static final byte STDOUT = 'o';
    public static final byte STDERR = 'e';
    public static final byte EXIT = 'x';
    public static final String CONTENT_TYPE = "application/x-lattice-cli";
    /** Output is sent in frames of at most this many bytes. */
    static final int MAX_FRAME = 1 << 16;

    private CliRoute() {}

    /** The commands the daemon runs: a command for these arguments, or empty when they are not its to run. */
    @FunctionalInterface
    public interface Commands {
        Optional<Command> accept(List<String> args);
    }

    /** One accepted command line. */
    @FunctionalInterface
    public interface Command {
        /** Prints to {@code out}/{@code err} and returns the exit code; a write to a CLI that went away throws UncheckedIOException. */
        int run(LocalApiClient client, PrintWriter out, PrintWriter err);
    }

    /** The arguments of a request body (NUL-terminated strings). */
    static List<String> args(byte[] body) {
        List<String> args = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < body.length; i++) {
            if (body[i] == 0) {
                args.add(new String(body, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start != body.length) return null; // the last argument is not terminated
        return args;
    }

    /** Answers one request on the event loop's context; the command itself runs on {@code workers}. */
    static void serve(ChannelHandlerContext ctx, byte[] body, Commands commands, LocalApiClient client,
            ExecutorService workers, Responder fallback) {
        long start = System.nanoTime();
        List<String> args = args(body);
        Optional<Command> cmd = args == null ? Optional.empty() : commands.accept(args);
        if (cmd.isEmpty()) {
            fallback.send(LocalApiRoutes.error(404, "not a command latticed runs"));
            return;
        }
        // A ping may go on for as long as the user wants; the connection's end tells us when the CLI is gone.
        if (ctx.pipeline().get(ReadTimeoutHandler.class) != null) ctx.pipeline().remove(ReadTimeoutHandler.class);
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, CONTENT_TYPE);
        head.headers().set(HttpHeaderNames.CONNECTION, "close");
        ctx.writeAndFlush(head);
        workers.execute(() -> {
            Frames frames = new Frames(ctx);
            int code;
            try (PrintWriter out = new PrintWriter(frames.writer(STDOUT)); PrintWriter err = new PrintWriter(frames.writer(STDERR))) {
                code = cmd.get().run(client, out, err);
                out.flush();
                err.flush();
            } catch (UncheckedIOException e) {
                ctx.close(); // the CLI is gone
                return;
            } catch (RuntimeException | Error e) {
                // no exit frame will come: the CLI must see the end of the answer rather than wait forever
                ctx.close();
                throw e;
            }
            // Only the command's name: an up's arguments carry its auth key.
            if (log.isDebugEnabled()) {
                log.debug("CLI {}: ran in {} ms, exit {}", commandName(args), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), code);
            }
            ByteBuf exit = Unpooled.buffer(9).writeByte(EXIT).writeInt(4).writeInt(code);
            ctx.write(new DefaultHttpContent(exit));
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
        });
    }

    /** The first argument that is not an option: the command's name (never a value, which may be a secret). */
    static String commandName(List<String> args) {
        for (String a : args) if (!a.startsWith("-")) return a.length() <= 16 && a.chars().allMatch(Character::isLetter) ? a : "?";
        return "?";
    }

    /** Sends a complete (non-streamed) answer. */
    @FunctionalInterface
    interface Responder {
        void send(LocalApiRoutes.Response r);
    }

    /**
     * The two output streams as frames on one connection, in the order they were written: text written to one
     * stream is sent before text written to the other after it, and everything pending is sent on flush.
     */
    static final class Frames {
        private final ChannelHandlerContext ctx;
        private final StringBuilder pending = new StringBuilder();
        private byte pendingKind;

        Frames(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        Writer writer(byte kind) {
            return new Writer() {
                @Override
                public void write(char[] cbuf, int off, int len) {
                    Frames.this.add(kind, cbuf, off, len);
                }

                @Override
                public void flush() {
                    Frames.this.send();
                }

                @Override
                public void close() {
                    Frames.this.send();
                }
            };
        }

        private synchronized void add(byte kind, char[] cbuf, int off, int len) {
            if (pendingKind != kind && !pending.isEmpty()) send();
            pendingKind = kind;
            pending.append(cbuf, off, len);
        }

        private synchronized void send() {
            if (!ctx.channel().isActive()) throw new UncheckedIOException(new IOException("the CLI closed the connection"));
            if (pending.isEmpty()) return;
            byte[] b = pending.toString().getBytes(StandardCharsets.UTF_8);
            pending.setLength(0);
            for (int off = 0; off < b.length; off += MAX_FRAME) {
                int n = Math.min(MAX_FRAME, b.length - off);
                ByteBuf f = Unpooled.buffer(5 + n).writeByte(pendingKind).writeInt(n).writeBytes(b, off, n);
                ctx.write(new DefaultHttpContent(f));
            }
            ctx.flush();
        }
    }
}
