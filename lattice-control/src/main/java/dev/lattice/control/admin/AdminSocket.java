package dev.lattice.control.admin;

import dev.lattice.control.http.BoundedAggregator;
import dev.lattice.control.http.HttpResponses;
import dev.lattice.control.policy.PolicySize;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local admin socket ({@code unix_socket}) that the {@code lattice-control} CLI talks to. It speaks HTTP/1.1
 * with the same {@code /api/v1/} paths and JSON as {@link AdminRoutes} but without API keys: whoever can connect is
 * an admin, and the socket file's mode ({@code unix_socket_permission}, default 0770) decides who can (connecting
 * needs write permission on the file). {@code curl --unix-socket lattice.sock http://lattice/api/v1/node} works too.
 *
 * <p>The socket is bound inside a fresh 0700 directory, given its mode, then renamed into place, so there is no
 * moment at which it exists at its public path with the umask's permissions. A stale socket file left by a killed
 * server is replaced; a live one (something accepts connections) is an error.
 */
public final class AdminSocket implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminSocket.class);
    /** Admin requests are small, but a policy may be as large as the file mode accepts. */
    static final int MAX_BODY = PolicySize.MAX_REQUEST_BYTES;
    /** sun_path is 108 bytes on Linux including the terminating NUL. */
    private static final int MAX_SOCKET_PATH = 107;

    private final Path path;
    private final EventLoopGroup group;
    private final ExecutorService workers;
    private final Channel channel;

    private AdminSocket(Path path, EventLoopGroup group, ExecutorService workers, Channel channel) {
        this.path = path;
        this.group = group;
        this.workers = workers;
        this.channel = channel;
    }

    /**
     * Listens on {@code socketPath} with file mode {@code mode} (e.g. {@code 0770}), creating the parent directory
     * (owner-only, plus search permission for whoever the mode admits) if it is missing.
     */
    public static AdminSocket start(Path socketPath, int mode, AdminApi api) throws IOException {
        return start(socketPath, mode, true, api);
    }

    /**
     * @param modeChosen whether the operator set the mode: only then is a directory that keeps the admitted
     *     group/others from reaching the socket worth a warning (Lattice's default data directory is 0700, as it
     *     holds the keys, so by default only the owner reaches the socket)
     */
    public static AdminSocket start(Path socketPath, int mode, boolean modeChosen, AdminApi api) throws IOException {
        Path path = socketPath.toAbsolutePath().normalize();
        if (path.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
            throw new IOException("unix_socket path is longer than " + MAX_SOCKET_PATH + " bytes: " + path);
        }
        Path dir = path.getParent();
        prepareDirectory(dir, mode, modeChosen);
        removeStale(path);

        // Bind where nobody else can reach, set the mode, then move into place.
        Path tmpDir = null;
        Path bindAt = path;
        if (dir.toString().length() + 24 <= MAX_SOCKET_PATH) {
            tmpDir = Files.createTempDirectory(dir, ".sock", PosixFilePermissions.asFileAttribute(perms(0700)));
            bindAt = tmpDir.resolve("s");
        }
        AdminHttp http = new AdminHttp(api);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
        try {
            Channel ch = new ServerBootstrap().group(group).channel(NioServerDomainSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel c) {
                            c.pipeline().addLast(new ReadTimeoutHandler(30));
                            c.pipeline().addLast(new HttpServerCodec(8192, 16384, 16384));
                            c.pipeline().addLast(new BoundedAggregator(MAX_BODY, "request body"));
                            c.pipeline().addLast(new Handler(http, workers));
                        }
                    })
                    .bind(UnixDomainSocketAddress.of(bindAt)).sync().channel();
            Files.setPosixFilePermissions(bindAt, perms(mode));
            if (tmpDir != null) Files.move(bindAt, path, StandardCopyOption.ATOMIC_MOVE);
            return new AdminSocket(path, group, workers, ch);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            shutdown(group, workers);
            throw new IOException("interrupted while binding " + path, e);
        } catch (IOException | RuntimeException e) {
            shutdown(group, workers);
            throw e instanceof IOException io ? io : new IOException("cannot listen on " + path + ": " + e.getMessage(), e);
        } finally {
            if (tmpDir != null) {
                Files.deleteIfExists(tmpDir.resolve("s"));
                Files.deleteIfExists(tmpDir);
            }
        }
    }

    public Path path() {
        return path;
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        shutdown(group, workers);
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            log.warn("could not remove admin socket {}: {}", path, e.toString());
        }
    }

    private static void shutdown(EventLoopGroup group, ExecutorService workers) {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownNow();
    }

    private static void prepareDirectory(Path dir, int mode, boolean modeChosen) throws IOException {
        // Only search (x) permission is needed to reach a socket; give it to the classes the socket mode admits.
        int dirMode = 0700 | ((mode & 0070) != 0 ? 0010 : 0) | ((mode & 0007) != 0 ? 0001 : 0);
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(perms(dirMode)));
            return;
        }
        Set<PosixFilePermission> have = Files.getPosixFilePermissions(dir);
        if ((mode & 0070) != 0 && !have.contains(PosixFilePermission.GROUP_EXECUTE)
                || (mode & 0007) != 0 && !have.contains(PosixFilePermission.OTHERS_EXECUTE)) {
            String fmt = "unix_socket_permission {} admits group/others, but directory {} ({}) does not let them reach the socket";
            if (modeChosen) log.warn(fmt, Integer.toOctalString(mode), dir, PosixFilePermissions.toString(have));
            else log.debug(fmt, Integer.toOctalString(mode), dir, PosixFilePermissions.toString(have));
        }
    }

    private static void removeStale(Path path) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return;
        }
        if (!a.isOther()) throw new IOException(path + " exists and is not a socket; refusing to replace it");
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(path));
            throw new IOException("another lattice-control is already listening on " + path);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("another lattice-control")) throw e;
            // Nobody listens: left over from a killed server.
            Files.deleteIfExists(path);
        }
    }

    static Set<PosixFilePermission> perms(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE};
        for (int i = 0; i < 9; i++) {
            if ((mode & (0400 >> i)) != 0) s.add(order[i]);
        }
        return s;
    }

    /** Parses each request on the event loop, answers it on a virtual thread (the store may block). */
    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final AdminHttp http;
        private final ExecutorService workers;

        Handler(AdminHttp http, ExecutorService workers) {
            this.http = http;
            this.workers = workers;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            if (!req.decoderResult().isSuccess()) {
                HttpResponses.send(ctx, null, HttpResponses.text(HttpResponseStatus.BAD_REQUEST, "malformed request"));
                return;
            }
            String method = req.method().name();
            String uri = req.uri();
            byte[] body = ByteBufUtil.getBytes(req.content());
            FullHttpRequest head = req.retainedDuplicate();
            workers.execute(() -> {
                try {
                    AdminHttp.Response r;
                    try {
                        r = http.handle(method, uri, body);
                    } catch (RuntimeException e) {
                        log.warn("admin {} {} failed", method, uri, e);
                        r = AdminHttp.error(500, 13, "internal error: " + e.getClass().getSimpleName());
                    }
                    if (r == null) r = AdminHttp.error(404, 5, "Not Found");
                    HttpResponses.send(ctx, head, HttpResponses.json(HttpResponseStatus.valueOf(r.status()), r.body()));
                } finally {
                    head.release();
                }
            });
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("admin socket connection failed: {}", cause.toString());
            ctx.close();
        }
    }
}
