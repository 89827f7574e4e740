package dev.lattice.wireguard.uapi;

import static dev.lattice.wireguard.uapi.Netip.quote;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the WireGuard UAPI on a unix socket, as {@code wireguard-go IFNAME} does on
 * {@code /var/run/wireguard/IFNAME.sock}, so the unmodified {@code wg} tool can configure and inspect a
 * {@link UapiDevice}.
 *
 * <p>Behaves as wireguard-go's {@code ipc/uapi_unix.go}, {@code ipc/uapi_linux.go} and {@code IpcHandle}:
 * <ul>
 *   <li>The socket directory is created (mode 0755) if missing; the socket is mode 0700 (wireguard-go binds under
 *       umask 077). A stale socket is removed; one that still accepts connections is an error
 *       ("unix socket in use").
 *   <li>Each connection carries any number of requests. {@code get=1\n\n} is answered with the state and
 *       {@code errno=0\n\n}; {@code get=1\n} followed by anything but {@code \n} with {@code errno=-22\n\n}.
 *       {@code set=1\n} starts a transaction that ends at an empty line (or end of stream) and is answered
 *       {@code errno=0\n\n} or {@code errno=<negative errno>\n\n}. After a failed {@code set}, whatever the
 *       client sent with it that was already read is dropped (wireguard-go loses its line scanner's buffer) and the
 *       connection stays open; the rest of a long bad transaction then arrives as invalid requests, which close the
 *       connection, as in wireguard-go. Any other request line closes the connection without a reply.
 *   <li>When the socket file is deleted, the server stops ({@link #terminated()} completes), so deleting the socket
 *       shuts the interface down as with wireguard-go.
 * </ul>
 * Unlike wireguard-go, lines are bounded ({@link Limits#maxLineBytes()}, -5 like Go's scanner limit, then the
 * connection is closed) and so is a whole {@code set} ({@link Limits#maxRequestBytes()}, -5, closed); an over-long
 * request line closes the connection. Requests pipelined behind a successful {@code set} are answered (wireguard-go
 * loses them in its scanner's buffer). A device is never called concurrently by this server: {@code set}s are
 * exclusive, {@code get}s shared.
 */
public final class UapiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(UapiServer.class);

    /** Where {@code wg} looks for userspace interfaces. */
    public static final Path SOCKET_DIRECTORY = Path.of("/var/run/wireguard");

    private static final int READ_BUFFER_BYTES = 8192;
    /** Go listens with backlog somaxconn; the JDK's default of 50 makes bursts of clients fail with EAGAIN. */
    private static final int LISTEN_BACKLOG = 4096;

    /**
     * Resource bounds for one server.
     *
     * @param maxLineBytes    longest accepted line, without its {@code '\n'}; wireguard-go's scanner allows 65535
     * @param maxRequestBytes largest accepted {@code set} transaction in bytes
     * @param maxConnections  connections served at once; further clients wait in the listen backlog
     */
    public record Limits(int maxLineBytes, int maxRequestBytes, int maxConnections) {
        public static final Limits DEFAULT = new Limits(65_535, 8 << 20, 64);

        public Limits {
            if (maxLineBytes < 128) throw new IllegalArgumentException("maxLineBytes must be at least 128");
            if (maxRequestBytes < maxLineBytes) throw new IllegalArgumentException("maxRequestBytes < maxLineBytes");
            if (maxConnections < 1) throw new IllegalArgumentException("maxConnections must be positive");
        }
    }

    private final Path socketPath;
    private final Object socketFileKey;
    private final ServerSocketChannel server;
    private final UapiDevice device;
    private final Limits limits;
    private final String name;
    private final ReentrantReadWriteLock ipcLock = new ReentrantReadWriteLock();
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final Semaphore connectionSlots;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();
    private final WatchService watcher;
    private final Thread acceptThread;

    private UapiServer(Path socketPath, ServerSocketChannel server, UapiDevice device, Limits limits)
            throws IOException {
        this.socketPath = socketPath;
        this.server = server;
        this.device = device;
        this.limits = limits;
        this.name = socketPath.getFileName().toString();
        this.connectionSlots = new Semaphore(limits.maxConnections());
        this.socketFileKey = fileKey(socketPath);
        WatchService ws = socketPath.getFileSystem().newWatchService();
        try {
            socketPath.getParent().register(ws, StandardWatchEventKinds.ENTRY_DELETE,
                    StandardWatchEventKinds.ENTRY_CREATE);
        } catch (IOException | RuntimeException e) {
            ws.close();
            throw e;
        }
        this.watcher = ws;
        // A platform thread: a connection accepted just as close() runs is closed by this thread, which must not wait
        // for a virtual-thread carrier that busy CPU-bound work holds (CI saw such a client left open for 5 s).
        this.acceptThread = Thread.ofPlatform().daemon(true).name("uapi-accept-" + name).unstarted(this::acceptLoop);
    }

    /** {@code /var/run/wireguard/<ifname>.sock}, after checking {@code ifname} is a valid Linux interface name. */
    public static Path socketPath(String ifname) {
        Objects.requireNonNull(ifname, "ifname");
        if (ifname.isEmpty() || ifname.length() > 15 || ifname.equals(".") || ifname.equals("..")
                || !ifname.chars().allMatch(c -> c > ' ' && c < 0x7f && c != '/' && c != ':')) {
            throw new IllegalArgumentException("invalid interface name " + quote(ifname)
                    + ": want 1..15 printable ASCII characters without '/', ':' or spaces");
        }
        return SOCKET_DIRECTORY.resolve(ifname + ".sock");
    }

    /** Serves {@code device} on {@code /var/run/wireguard/<ifname>.sock}. */
    public static UapiServer start(String ifname, UapiDevice device) throws IOException {
        return start(socketPath(ifname), device, Limits.DEFAULT);
    }

    /** Serves {@code device} on {@code socketPath}, creating its directory if needed. */
    public static UapiServer start(Path socketPath, UapiDevice device) throws IOException {
        return start(socketPath, device, Limits.DEFAULT);
    }

    public static UapiServer start(Path socketPath, UapiDevice device, Limits limits) throws IOException {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(limits, "limits");
        Path path = socketPath.toAbsolutePath().normalize();
        createDirectory(path.getParent());
        ServerSocketChannel channel = bind(path);
        UapiServer s;
        try {
            s = new UapiServer(path, channel, device, limits);
        } catch (IOException | RuntimeException e) {
            channel.close();
            Files.deleteIfExists(path);
            throw e;
        }
        s.acceptThread.start();
        Thread.ofVirtual().name("uapi-watch-" + s.name).start(s::watchLoop);
        log.info("UAPI listening on {}", path);
        return s;
    }

    public Path socketPath() {
        return socketPath;
    }

    /** Completes when the server has stopped: by {@link #close()}, or because its socket file was removed. */
    public CompletableFuture<Void> terminated() {
        return terminated.copy();
    }

    public boolean isClosed() {
        return closed.get();
    }

    /** Stops accepting, closes every connection and deletes the socket file (if it is still this server's). */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        closeQuietly(server);
        try {
            watcher.close();
        } catch (IOException e) {
            log.debug("closing watch service", e);
        }
        for (SocketChannel c : connections) closeConnection(c);
        if (isOurSocketFile()) {
            try {
                Files.deleteIfExists(socketPath);
            } catch (IOException e) {
                log.warn("could not delete UAPI socket {}: {}", socketPath, e.toString());
            }
        }
        if (Thread.currentThread() != acceptThread) {
            acceptThread.interrupt(); // in case it waits for a connection slot
            try {
                acceptThread.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        log.info("UAPI on {} stopped", socketPath);
        terminated.complete(null);
    }

    // ---------------------------------------------------------------- socket file

    private static void createDirectory(Path dir) throws IOException {
        if (Files.isDirectory(dir)) return;
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    }

    /**
     * Binds in a fresh private (0700) directory beside the target, sets the socket's mode, then hard-links it into
     * place: no moment where the socket is reachable with looser permissions, and {@code link(2)} fails instead of
     * replacing a socket another server put there meanwhile.
     */
    private static ServerSocketChannel bind(Path path) throws IOException {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            if (acceptsConnections(path)) throw new IOException("unix socket in use: " + path);
            log.info("removing stale UAPI socket {}", path);
            Files.deleteIfExists(path);
        }
        Path tmpDir = Files.createTempDirectory(path.getParent(), ".uapi-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path tmp = tmpDir.resolve("s");
        try {
            ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.bind(UnixDomainSocketAddress.of(tmp), LISTEN_BACKLOG);
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx------"));
                Files.createLink(path, tmp);
                return channel;
            } catch (FileAlreadyExistsException e) {
                channel.close();
                throw new IOException("unix socket in use: " + path, e);
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        } finally {
            Files.deleteIfExists(tmp);
            Files.deleteIfExists(tmpDir);
        }
    }

    private static boolean acceptsConnections(Path path) {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static Object fileKey(Path path) throws IOException {
        return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    private boolean isOurSocketFile() {
        try {
            return Objects.equals(fileKey(socketPath), socketFileKey);
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            log.debug("checking UAPI socket {}", socketPath, e);
            return true; // cannot tell: assume it is still there, like wireguard-go's lstat check
        }
    }

    private void watchLoop() {
        Path fileName = socketPath.getFileName();
        try {
            while (!closed.get()) {
                WatchKey key = watcher.take();
                boolean relevant = false;
                for (WatchEvent<?> event : key.pollEvents()) {
                    relevant |= event.kind() == StandardWatchEventKinds.OVERFLOW || fileName.equals(event.context());
                }
                key.reset();
                if (relevant && !closed.get() && !isOurSocketFile()) {
                    log.info("UAPI socket {} was removed or replaced; stopping", socketPath);
                    close();
                }
            }
        } catch (ClosedWatchServiceException e) {
            // closed by close()
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- connections

    private void acceptLoop() {
        while (!closed.get()) {
            try {
                connectionSlots.acquire(); // at the limit, stop accepting: new clients wait in the listen backlog
            } catch (InterruptedException e) {
                break; // close()
            }
            SocketChannel c;
            try {
                c = server.accept();
            } catch (ClosedChannelException e) {
                connectionSlots.release();
                break;
            } catch (IOException e) {
                connectionSlots.release();
                if (closed.get()) break;
                log.warn("UAPI accept on {} failed: {}", socketPath, e.toString());
                sleepQuietly(50); // e.g. out of file descriptors: do not spin
                continue;
            }
            connections.add(c);
            if (closed.get()) closeConnection(c);
            Thread.ofVirtual().name("uapi-" + name).start(() -> {
                try {
                    serve(c);
                } catch (IOException e) {
                    log.debug("UAPI connection on {} ended: {}", socketPath, e.toString());
                } catch (RuntimeException e) {
                    log.error("UAPI connection on {} failed", socketPath, e);
                } finally {
                    connections.remove(c);
                    closeQuietly(c);
                    connectionSlots.release();
                }
            });
        }
    }

    private void serve(SocketChannel c) throws IOException {
        LineReader in = new LineReader(c, READ_BUFFER_BYTES);
        while (true) {
            LineReader.Line op;
            try {
                op = in.readLine(limits.maxLineBytes());
            } catch (LineReader.LineTooLongException e) {
                log.warn("UAPI on {}: request line too long; closing connection", socketPath);
                return;
            }
            if (op == null || !op.terminated()) return;
            switch (op.text()) {
                case "set=1" -> {
                    int errno = handleSet(in);
                    write(c, "errno=" + errno + "\n\n");
                    if (errno == UapiError.IO.errno()) return; // stopped mid-line: the stream is out of step
                    if (errno != 0) in.discardBuffered();
                }
                case "get=1" -> {
                    int next = in.readByte();
                    if (next < 0) return;
                    if (next != '\n') {
                        log.warn("UAPI on {}: trailing character in get: {}", socketPath,
                                quote(String.valueOf((char) next)));
                        write(c, "errno=" + UapiError.INVALID.errno() + "\n\n");
                        continue;
                    }
                    write(c, handleGet());
                }
                default -> {
                    log.warn("UAPI on {}: invalid operation {}; closing connection", socketPath, quote(op.text()));
                    return;
                }
            }
        }
    }

    private String handleGet() {
        DeviceState state;
        ipcLock.readLock().lock();
        try {
            state = device.state();
        } catch (RuntimeException e) {
            log.error("UAPI get on {}: device failed", socketPath, e);
            return "errno=" + UapiError.UNKNOWN.errno() + "\n\n";
        } finally {
            ipcLock.readLock().unlock();
        }
        return UapiCodec.formatGet(state) + "errno=0\n\n";
    }

    /** Reads, parses and applies one transaction; returns the errno to report. */
    private int handleSet(LineReader in) throws IOException {
        SetParser parser = new SetParser();
        UapiException failure = null;
        long total = 0;
        while (true) {
            LineReader.Line line;
            try {
                line = in.readLine(limits.maxLineBytes());
            } catch (LineReader.LineTooLongException e) {
                failure = new UapiException(UapiError.IO, "set: " + e.getMessage());
                break;
            }
            if (line == null) break; // end of stream also ends the transaction, as in wireguard-go
            total += line.text().length() + 1L;
            if (total > limits.maxRequestBytes()) {
                failure = new UapiException(UapiError.IO,
                        "set: transaction larger than " + limits.maxRequestBytes() + " bytes");
                break;
            }
            try {
                if (!parser.accept(line.text())) break;
            } catch (UapiException e) {
                failure = e;
                break;
            }
            if (!line.terminated()) break;
        }
        UapiSet set = parser.result();
        if (failure == null || !set.isEmpty()) {
            ipcLock.writeLock().lock();
            try {
                log.debug("UAPI on {}: applying {}", socketPath, set);
                device.apply(set);
            } catch (UapiException e) {
                log.warn("UAPI set on {} failed: {}", socketPath, e.getMessage());
                return e.errno();
            } catch (RuntimeException e) {
                log.error("UAPI set on {}: device failed", socketPath, e);
                return UapiError.UNKNOWN.errno();
            } finally {
                ipcLock.writeLock().unlock();
            }
        }
        if (failure != null) {
            log.warn("UAPI set on {} failed: {}", socketPath, failure.getMessage());
            return failure.errno();
        }
        return 0;
    }

    private static void write(SocketChannel c, String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1));
        while (b.hasRemaining()) c.write(b);
    }

    /**
     * Shuts the socket down before closing our descriptor: a child process started meanwhile (latticed runs ip and
     * nft) may hold a copy of the descriptor until it execs or exits, and close alone would then not end the
     * client's connection.
     */
    private static void closeConnection(SocketChannel c) {
        try {
            // Output first: once input is shut, the connection's thread sees end of stream and would answer a set.
            c.shutdownOutput();
            c.shutdownInput();
        } catch (IOException e) {
            // already closed or reset
        }
        closeQuietly(c);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            log.debug("close", e);
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
