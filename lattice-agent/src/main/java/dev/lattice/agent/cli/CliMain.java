package dev.lattice.agent.cli;

import dev.lattice.agent.localapi.CliRoute;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The {@code lattice} process. {@code version} is answered here; {@code status}, {@code ip}, {@code ping} and
 * {@code up} in their plain forms ({@link QuickArgs}) are run by latticed ({@link CliRoute}, {@link QuickCli}), whose output is
 * copied to ours; everything else, and anything latticed does not take, is {@link LatticeCli}'s.
 *
 * <p>Why: a JVM that loads picocli and Jackson to print a status took 0.5-1 s on the 2-core development machine
 * (tailscale's native CLI: ~10 ms), and picocli's Java 5 classes cannot go in the AOT cache. This path loads a few
 * dozen classes beyond the JDK's, none of them picocli, Jackson or Netty ({@code CliMainTest} checks that).
 */
public final class CliMain {
    /** {@link dev.lattice.agent.localapi.LocalApiServer#DEFAULT_SOCKET}, without loading that class (its logger would
     * start logback, its imports Netty). {@code CliMainTest} checks they agree. */
    static final Path DEFAULT_SOCKET = Path.of("/var/run/lattice/latticed.sock");

    private CliMain() {}

    /** Runs a command line with {@link LatticeCli}: its exit code. */
    @FunctionalInterface
    interface Fallback {
        int run(String[] args);
    }

    public static void main(String[] args) {
        if (args.length == 1 && args[0].equals(CliTraining.ARG)) System.exit(CliTraining.run());
        boolean[] fellBack = {false};
        int code = run(args, System.out, System.err, a -> {
            fellBack[0] = true;
            PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
            PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
            return LatticeCli.run(a, out, err);
        });
        System.out.flush();
        System.err.flush();
        if (fellBack[0]) System.exit(code);
        // The quick path registered no shutdown hooks and its output is flushed. System.exit would log the exit
        // through System.Logger, whose lookup of a logging backend scans lattice.jar's services (opening the
        // 16,000-entry jar only for that) and loads the JDK's logger classes.
        Runtime.getRuntime().halt(code);
    }

    static int run(String[] args, OutputStream out, OutputStream err, Fallback fallback) {
        QuickArgs.Parsed p = QuickArgs.parse(List.of(args));
        try {
            if (p instanceof QuickArgs.Version) {
                out.write((clientVersion() + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                return 0;
            }
            if (p instanceof QuickArgs.Daemon d) {
                String[] sent = args;
                if (d instanceof QuickArgs.UpArgs u && AuthKeyArg.isFile(u.authKey())) {
                    // Read here, with the user's permissions (latticed runs as root); the key goes to latticed over
                    // the socket, as LatticeCli's own up request would carry it. A file that cannot be read is
                    // LatticeCli's to report.
                    String key;
                    try {
                        key = AuthKeyArg.resolve(u.authKey());
                    } catch (CliException e) {
                        key = null;
                    }
                    if (key == null || AuthKeyArg.isFile(key)) return fallback.run(args);
                    sent = QuickArgs.withAuthKey(args, key);
                }
                Integer code = viaDaemon(d.socket() != null ? d.socket() : DEFAULT_SOCKET, sent, out, err);
                if (code != null) return code;
            }
        } catch (IOException e) {
            // our own stdout/stderr failed (a closed pipe): nothing more to say
            return 1;
        }
        return fallback.run(args);
    }

    /** What {@link LatticeCli}'s {@code version} prints: the jar's version. */
    static String clientVersion() {
        String v = CliMain.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** {@link dev.lattice.agent.localapi.LocalApiException.NotRunning}'s message, which the full CLI would print. */
    static String notRunning(Path socket) {
        return "failed to connect to local latticed; it doesn't appear to be running (socket " + socket + ")";
    }

    /**
     * Has latticed run the command: its exit code once its output is copied, or null when latticed does not take it
     * (an older daemon, or a connection that failed other than by the daemon being absent).
     */
    static Integer viaDaemon(Path socket, String[] args, OutputStream out, OutputStream err) throws IOException {
        nameSelectorProvider();
        SocketChannel ch;
        try {
            ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (SocketException | NoSuchFileException e) {
            return notRunning(socket, err);
        } catch (IOException e) {
            String m = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
            if (m.contains("no such file") || m.contains("connection refused")) return notRunning(socket, err);
            return null;
        }
        try (ch) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            for (String a : args) {
                body.write(a.getBytes(StandardCharsets.UTF_8));
                body.write(0);
            }
            String head = "POST " + CliRoute.PATH + " HTTP/1.1\r\nHost: local-latticed.sock\r\nContent-Type: application/octet-stream\r\n"
                    + "Content-Length: " + body.size() + "\r\nConnection: close\r\n\r\n";
            ByteBuffer req = ByteBuffer.allocate(head.length() + body.size());
            req.put(head.getBytes(StandardCharsets.ISO_8859_1)).put(body.toByteArray()).flip();
            while (req.hasRemaining()) ch.write(req);
            InputStream in = new BufferedInputStream(Channels.newInputStream(ch), 1 << 16);
            if (!okStatus(in)) return null;
            return copyFrames(in, out, err);
        } catch (IOException e) {
            // the daemon went away mid-answer: as the full CLI says of a broken call
            err.write(("local API POST " + CliRoute.PATH + " failed: " + e.getMessage() + "\n").getBytes(StandardCharsets.UTF_8));
            err.flush();
            return 1;
        }
    }

    /**
     * Runs a plain {@code status} through latticed's socket at {@code socket}, output discarded: latticed calls it on
     * itself once at start, so that the CLI route's code (the local API's HTTP handling, {@link CliRoute},
     * {@link QuickCli}) is not run cold by the first real command. Failures are nobody's concern: it is only warm-up.
     */
    public static void warmDaemon(Path socket) {
        try {
            viaDaemon(socket, new String[] {"status"}, OutputStream.nullOutputStream(), OutputStream.nullOutputStream());
        } catch (IOException e) {
            // nothing to warm
        }
    }

    static final String SELECTOR_PROVIDER = "java.nio.channels.spi.SelectorProvider";

    /**
     * Names the JDK's own selector provider (unless one is named already), so that the first channel does not look
     * for another in the class path's services: that lookup opens lattice.jar (16,000 entries) for nothing. Linux
     * only, where latticed runs and this is the JDK's default anyway.
     */
    static void nameSelectorProvider() {
        if (System.getProperty(SELECTOR_PROVIDER) == null && "Linux".equals(System.getProperty("os.name"))) {
            System.setProperty(SELECTOR_PROVIDER, "sun.nio.ch.EPollSelectorProvider");
        }
    }

    private static int notRunning(Path socket, OutputStream err) throws IOException {
        err.write((notRunning(socket) + "\n").getBytes(StandardCharsets.UTF_8));
        err.flush();
        return 1;
    }

    /** Reads the status line and headers; whether the status is 200. */
    static boolean okStatus(InputStream in) throws IOException {
        StringBuilder h = new StringBuilder();
        while (!h.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) throw new EOFException("latticed closed the connection before answering");
            h.append((char) b);
            if (h.length() > 16384) throw new IOException("answer headers too long");
        }
        String[] status = h.substring(0, h.indexOf("\r\n")).split(" ", 3);
        return status.length >= 2 && status[0].startsWith("HTTP/1.") && status[1].equals("200");
    }

    /** Copies output frames until the exit frame: its code. */
    static int copyFrames(InputStream in, OutputStream out, OutputStream err) throws IOException {
        byte[] hdr = new byte[5];
        while (true) {
            if (in.readNBytes(hdr, 0, 5) < 5) throw new EOFException("latticed closed the connection before the command finished");
            int len = ByteBuffer.wrap(hdr, 1, 4).getInt();
            if (len < 0 || len > 1 << 24) throw new IOException("bad frame length " + len);
            byte[] data = in.readNBytes(len);
            if (data.length < len) throw new EOFException("latticed closed the connection before the command finished");
            switch (hdr[0]) {
                case CliRoute.STDOUT -> {
                    out.write(data);
                    out.flush();
                }
                case CliRoute.STDERR -> {
                    err.write(data);
                    err.flush();
                }
                case CliRoute.EXIT -> {
                    if (len != 4) throw new IOException("bad exit frame");
                    return ByteBuffer.wrap(data).getInt();
                }
                default -> throw new IOException("unknown frame kind " + hdr[0]);
            }
        }
    }
}
