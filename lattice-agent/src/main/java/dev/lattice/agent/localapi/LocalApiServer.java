package dev.lattice.agent.localapi;

import dev.lattice.agent.ipn.Backend;
import dev.lattice.metrics.Metrics;
import dev.lattice.wire.tailcfg.DERPMap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
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
import java.util.function.Predicate;
import java.util.function.Supplier;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code latticed}'s local API socket. Like tailscaled's, the socket file is mode 0666 (its directory 0755) so any
 * local user can read status, and the peer's credentials ({@code SO_PEERCRED}) decide who may change state:
 * by default root or the user the daemon runs as may call {@code up}, {@code down} and {@code logout}.
 *
 * <p>The socket is bound inside a fresh 0700 directory, given its mode, then renamed into place, so it never
 * exists at its public path with the umask's permissions. A stale socket file left by a killed daemon is replaced;
 * a live one (something accepts connections) is an error, as is a path that is not a socket.
 * Requests are parsed on one event-loop thread and answered on virtual threads (backend calls may block).
 */
public final class LocalApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LocalApiServer.class);
    public static final Path DEFAULT_SOCKET = Path.of("/var/run/lattice/latticed.sock");
    /** Requests are small (the largest is an UpRequest). */
    static final int MAX_BODY = 1 << 20;
    /** sun_path is 108 bytes on Linux including the terminating NUL. */
    private static final int MAX_SOCKET_PATH = 107;

    /**
     * @param socketMode the socket file's mode (0666 like tailscaled; 0600 keeps other users out entirely)
     * @param mayWrite   whether a peer (null when its credentials are unknown) may call up/down/logout
     * @param derpMap    the current DERP map for {@code lattice netcheck} (may be null or return null)
     */
    public record Options(int socketMode, Predicate<UnixDomainPrincipal> mayWrite, Supplier<DERPMap> derpMap, Supplier<Metrics> userMetrics,
            CliRoute.Commands cli) {
        public static Options defaults() {
            return new Options(0666, LocalApiServer::rootOrSelf, null, null, null);
        }

        public Options withDerpMap(Supplier<DERPMap> m) {
            return new Options(socketMode, mayWrite, m, userMetrics, cli);
        }

        public Options withMayWrite(Predicate<UnixDomainPrincipal> p) {
            return new Options(socketMode, p, derpMap, userMetrics, cli);
        }

        public Options withSocketMode(int mode) {
            return new Options(mode, mayWrite, derpMap, userMetrics, cli);
        }

        /** What {@code GET /localapi/v0/usermetrics} serves. */
        public Options withUserMetrics(Metrics m) {
            return withUserMetrics(() -> m);
        }

        /** As {@link #withUserMetrics(Metrics)}, made at the first scrape (the supplier is asked each time: memoize it). */
        public Options withUserMetrics(Supplier<Metrics> m) {
            return new Options(socketMode, mayWrite, derpMap, m, cli);
        }

        /** The CLI commands the daemon runs for {@code lattice} ({@link CliRoute}); without them that path is 404. */
        public Options withCli(CliRoute.Commands c) {
            return new Options(socketMode, mayWrite, derpMap, userMetrics, c);
        }
    }

    private final Path path;
    private final EventLoopGroup group;
    private final ExecutorService workers;
    private final LocalApiRoutes routes;
    private final Channel channel;

    private LocalApiServer(Path path, EventLoopGroup group, ExecutorService workers, LocalApiRoutes routes, Channel channel) {
        this.path = path;
        this.group = group;
        this.workers = workers;
        this.routes = routes;
        this.channel = channel;
    }

    public static LocalApiServer start(Path socket, Backend backend) throws IOException {
        return start(socket, backend, Options.defaults());
    }

    public static LocalApiServer start(Path socket, Backend backend, Options options) throws IOException {
        Path path = socket.toAbsolutePath().normalize();
        if (path.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
            throw new IOException("socket path is longer than " + MAX_SOCKET_PATH + " bytes: " + path);
        }
        Path dir = path.getParent();
        if (!Files.isDirectory(dir)) Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(perms(0755)));
        removeStale(path);

        Path tmpDir = null;
        Path bindAt = path;
        if (dir.toString().length() + 24 <= MAX_SOCKET_PATH) {
            tmpDir = Files.createTempDirectory(dir, ".sock", PosixFilePermissions.asFileAttribute(perms(0700)));
            bindAt = tmpDir.resolve("s");
        }
        LocalApiRoutes routes = new LocalApiRoutes(backend, options.derpMap(), options.userMetrics());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
        try {
            Channel ch = new ServerBootstrap().group(group).channel(NioServerDomainSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel c) {
                            boolean mayWrite = options.mayWrite().test(peer(c));
                            // Long enough for a slow ping; keeps idle CLI connections from piling up.
                            c.pipeline().addLast(new ReadTimeoutHandler(600));
                            c.pipeline().addLast(new HttpServerCodec(8192, 16384, 16384));
                            c.pipeline().addLast(new HttpObjectAggregator(MAX_BODY));
                            c.pipeline().addLast(new Handler(routes, workers, mayWrite, options.cli(),
                                    new LocalApiClient(path, routes, mayWrite)));
                        }
                    })
                    .bind(UnixDomainSocketAddress.of(bindAt)).sync().channel();
            Files.setPosixFilePermissions(bindAt, perms(options.socketMode()));
            if (tmpDir != null) Files.move(bindAt, path, StandardCopyOption.ATOMIC_MOVE);
            return new LocalApiServer(path, group, workers, routes, ch);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            shutdown(group, workers, routes);
            throw new IOException("interrupted while binding " + path, e);
        } catch (IOException | RuntimeException e) {
            shutdown(group, workers, routes);
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
        shutdown(group, workers, routes);
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            log.warn("could not remove local API socket {}: {}", path, e.toString());
        }
    }

    /** The default write policy: root, or the user this daemon runs as. */
    public static boolean rootOrSelf(UnixDomainPrincipal peer) {
        if (peer == null) return false;
        String name = peer.user().getName();
        return name.equals("root") || name.equals("0") || name.equals(System.getProperty("user.name"));
    }

    /** The connecting process's user and group, or null if the platform cannot tell. */
    static UnixDomainPrincipal peer(Channel c) {
        try {
            return c.config().getOption(NioChannelOption.of(ExtendedSocketOptions.SO_PEERCRED));
        } catch (RuntimeException | Error e) {
            log.debug("no peer credentials on local API connection: {}", e.toString());
            return null;
        }
    }

    private static void shutdown(EventLoopGroup group, ExecutorService workers, LocalApiRoutes routes) {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownNow();
        routes.close();
    }

    private static void removeStale(Path path) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        if (!a.isOther()) throw new IOException(path + " exists and is not a socket; refusing to replace it");
        refuseLive(path);
        Files.deleteIfExists(path);
    }

    /**
     * Throws when a process accepts connections on {@code path}: another latticed. latticed asks before it touches the
     * host, so that a second one started by mistake fails without first taking the running one's routes and rules.
     */
    public static void refuseLive(Path path) throws IOException {
        boolean live;
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(path));
            live = true;
        } catch (IOException e) {
            live = false; // nobody listens (or no socket at all): left over from a killed daemon
        }
        if (live) throw new IOException("another latticed is already listening on " + path);
    }

    static Set<PosixFilePermission> perms(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE, in mode bit order
        for (int i = 0; i < 9; i++) {
            if ((mode & (0400 >> i)) != 0) s.add(order[i]);
        }
        return s;
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final LocalApiRoutes routes;
        private final ExecutorService workers;
        private final boolean mayWrite;
        private final CliRoute.Commands cli;
        private final LocalApiClient cliClient;

        Handler(LocalApiRoutes routes, ExecutorService workers, boolean mayWrite, CliRoute.Commands cli, LocalApiClient cliClient) {
            this.routes = routes;
            this.workers = workers;
            this.mayWrite = mayWrite;
            this.cli = cli;
            this.cliClient = cliClient;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (!req.decoderResult().isSuccess()) {
                send(ctx, false, LocalApiRoutes.error(400, "malformed request"));
                return;
            }
            String method = req.method().name();
            String uri = req.uri();
            byte[] body = ByteBufUtil.getBytes(req.content());
            String ifMatch = req.headers().get(HttpHeaderNames.IF_MATCH);
            if (cli != null && method.equals("POST") && uri.equals(CliRoute.PATH)) {
                CliRoute.serve(ctx, body, cli, cliClient, workers, r -> send(ctx, keepAlive, r));
                return;
            }
            long start = System.nanoTime();
            workers.execute(() -> {
                LocalApiRoutes.Response r = routes.handle(method, uri, body, mayWrite, ifMatch);
                send(ctx, keepAlive, r);
                if (log.isDebugEnabled()) {
                    // the path only: a query may carry values not for the log
                    int q = uri.indexOf('?');
                    log.debug("local API {} {}: {} in {} ms", method, q < 0 ? uri : uri.substring(0, q), r.status(),
                            java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                }
            });
        }

        private static void send(ChannelHandlerContext ctx, boolean keepAlive, LocalApiRoutes.Response r) {
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
                    Unpooled.wrappedBuffer(r.body()));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
            res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
            if (r.etag() != null) res.headers().set(HttpHeaderNames.ETAG, r.etag());
            HttpUtil.setKeepAlive(res, keepAlive);
            var f = ctx.writeAndFlush(res);
            if (!keepAlive) f.addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("local API connection failed: {}", cause.toString());
            ctx.close();
        }
    }
}
