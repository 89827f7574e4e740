package dev.lattice.derp.cli;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.client.DerpClientOptions;
import dev.lattice.derp.mesh.MeshPeer;
import dev.lattice.derp.server.BootstrapDns;
import dev.lattice.derp.server.ClientVerifier;
import dev.lattice.derp.server.DerpMetrics;
import dev.lattice.derp.server.DerpServer;
import dev.lattice.derp.server.DerpServerOptions;
import dev.lattice.derp.server.HttpAdmissionVerifier;
import dev.lattice.derp.standalone.StandaloneDerper;
import dev.lattice.derp.stun.StunServer;
import dev.lattice.guard.ConnectionGuard;
import dev.lattice.systemd.SystemdNotify;
import dev.lattice.metrics.GuardMetrics;
import dev.lattice.metrics.Metrics;
import dev.lattice.metrics.MetricsServer;
import dev.lattice.wire.derp.MeshKey;
import dev.lattice.wire.ip.IpPrefix;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code lattice derper}: a standalone DERP relay + STUN server with tailscale {@code cmd/derper}'s flags (both
 * {@code -flag} and {@code --flag} spellings). TLS is served when the port is 443 or {@code --certmode manual};
 * only manual certificates are supported ({@code <certdir>/<hostname>.crt} and {@code .key}, PEM, key in PKCS#8).
 */
@Command(name = "lattice-derper", versionProvider = DerperCommand.Version.class, sortOptions = false,
        description = "DERP relay and STUN server (Tailscale protocol), with tailscale's derper flags.",
        footer = "%nFlags take one or two dashes (-a or --addr). Exit codes: 0, 1 when serving fails, 2 for a wrong command line.")
public final class DerperCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Option(names = {"-h", "--help", "-help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;
    @Option(names = {"--version", "-version", "-V"}, versionHelp = true, description = "Print the version and exit.")
    boolean version;
    @Option(names = {"-a", "--addr", "-addr"}, paramLabel = "ADDR", defaultValue = ":443",
            description = "listen address: :port, ip:port or [ip]:port (default ${DEFAULT-VALUE}); TLS on 443 or with --certmode manual")
    String addr;
    @Option(names = {"--dev", "-dev"}, description = "localhost development mode: plain HTTP on :3340, fresh key")
    boolean dev;
    @Option(names = {"--stun-port", "-stun-port"}, paramLabel = "PORT", defaultValue = "3478",
            description = "UDP port for STUN, on the -a address (default ${DEFAULT-VALUE})")
    int stunPort;
    @Option(names = {"--stun", "-stun"}, paramLabel = "BOOL", defaultValue = "true", arity = "0..1",
            description = "run a STUN server (default ${DEFAULT-VALUE})")
    boolean stun;
    @Option(names = {"--derp", "-derp"}, paramLabel = "BOOL", defaultValue = "true", arity = "0..1",
            description = "run the DERP server (default ${DEFAULT-VALUE})")
    boolean derp;
    @Option(names = {"-c", "--config", "-config"}, paramLabel = "FILE",
            description = "config file with the server key (created if missing; default /var/lib/derper/derper.key as root)")
    Path config;
    @Option(names = {"--certmode", "-certmode"}, paramLabel = "MODE", defaultValue = "letsencrypt",
            description = "manual (letsencrypt is not supported)")
    String certMode;
    @Option(names = {"--certdir", "-certdir"}, paramLabel = "DIR", description = "directory holding <hostname>.crt and <hostname>.key")
    Path certDir;
    @Option(names = {"--hostname", "-hostname"}, paramLabel = "NAME", defaultValue = "derp.tailscale.com",
            description = "TLS host name, the certificate files' base name (default ${DEFAULT-VALUE})")
    String hostname;
    @Option(names = {"--verify-client-url", "-verify-client-url"}, paramLabel = "URL",
            description = "admission controller URL (tailcfg.DERPAdmitClientRequest)")
    URI verifyClientUrl;
    @Option(names = {"--verify-client-url-fail-open", "-verify-client-url-fail-open"}, paramLabel = "BOOL", defaultValue = "true",
            arity = "0..1", description = "admit clients when the admission controller is unreachable (default ${DEFAULT-VALUE})")
    boolean verifyFailOpen;
    @Option(names = {"--mesh-psk-file", "-mesh-psk-file"}, paramLabel = "FILE", description = "file with the 64-hex-digit mesh key")
    Path meshPskFile;
    @Option(names = {"--mesh-with", "-mesh-with"}, paramLabel = "HOSTS", split = ",",
            description = "servers to mesh with: host, host/dialhost, or a full http(s)://host:port/derp URL")
    List<String> meshWith = new ArrayList<>();
    @Option(names = {"--mesh-insecure-for-tests"}, hidden = true)
    boolean meshInsecure;
    @Option(names = {"--bootstrap-dns-names", "-bootstrap-dns-names"}, paramLabel = "NAMES", split = ",",
            description = "host names to resolve and serve at /bootstrap-dns (comma-separated; refreshed every 10 minutes)")
    List<String> bootstrapDnsNames = new ArrayList<>();
    @Option(names = {"--metrics", "-metrics"}, paramLabel = "ADDR",
            description = "serve Prometheus metrics at http://ADDR/metrics (ip:port, e.g. 127.0.0.1:9090; off by default)")
    String metricsAddr;
    @Option(names = {"--tcp-write-timeout", "-tcp-write-timeout"}, paramLabel = "DURATION", defaultValue = "2s",
            converter = GoDuration.class,
            description = "disconnect a client whose socket stays unwritable this long (Go duration; default ${DEFAULT-VALUE})")
    Duration writeTimeout;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Entry point for the launcher's role dispatch. */
    public static int run(String[] args) {
        return run(args, System.out, System.err);
    }

    /**
     * Parses and runs; a wrong command line is one line on {@code err} naming where the help is (exit 2), help and
     * version go to {@code out} (exit 0).
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(new DerperCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, a) -> {
            String what = ex.getMessage() == null ? "invalid arguments" : ex.getMessage().strip().replace("\n", "; ");
            if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
                String first = u.getUnmatched().getFirst();
                what = (first.startsWith("-") ? "unknown flag \"" : "unexpected argument \"") + first + "\"";
                if (!u.getSuggestions().isEmpty()) what += " (did you mean " + u.getSuggestions().getFirst() + "?)";
            }
            err.println("lattice-derper: " + what + " (see 'lattice-derper --help')");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            err.println("lattice-derper: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage().strip().replace("\n", "; ")));
            return 1;
        });
        return cl.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = DerperCommand.class.getPackage().getImplementationVersion();
            return new String[] {"lattice-derper " + (v == null ? "dev" : v)};
        }
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    @Override
    public Integer call() throws Exception {
        try (Running r = start()) {
            System.err.println("lattice-derper: serving on " + IpPrefix.hostPort(r.http().boundAddress()) + (r.tls() ? " with TLS" : "")
                    + ", server key " + r.http().server().publicKey());
            if (r.metrics() != null) {
                System.err.println("lattice-derper: metrics on http://" + IpPrefix.hostPort(r.metrics().localAddress()) + "/metrics");
            }
            SystemdNotify systemd = SystemdNotify.fromEnvironment();
            systemd.ready("relaying on " + IpPrefix.hostPort(r.http().boundAddress()));
            CountDownLatch stop = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                systemd.stopping();
                stop.countDown();
            }));
            stop.await();
            return 0;
        }
    }

    /** What {@link #start} started; closing it stops everything. */
    record Running(StandaloneDerper http, MetricsServer metrics, boolean tls, List<AutoCloseable> parts, EventLoopGroup group)
            implements AutoCloseable {
        @Override
        public void close() {
            for (AutoCloseable c : parts.reversed()) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // shutting down
                }
            }
            group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** Starts the listeners the flags ask for. */
    Running start() throws Exception {
        if (dev) addr = ":3340";
        InetSocketAddress listen;
        try {
            listen = parseAddr(addr);
        } catch (IllegalArgumentException e) {
            throw usage("invalid --addr \"" + addr + "\": " + e.getMessage());
        }
        boolean tls = listen.getPort() == 443 || "manual".equals(certMode);
        SslContext ssl = null;
        if (tls) {
            if (!"manual".equals(certMode)) {
                throw usage("--certmode " + certMode + " is not supported; use --certmode manual with --certdir");
            }
            if (certDir == null) throw usage("--certmode manual needs --certdir");
            ssl = SslContextBuilder.forServer(certDir.resolve(hostname + ".crt").toFile(), certDir.resolve(hostname + ".key").toFile()).build();
        }
        NodePrivateKey key = dev ? NodePrivateKey.generate() : loadKey();
        MeshKey meshKey = null;
        String envMesh = System.getenv("TS_DEBUG_DERP_MESH_KEY");
        if (meshPskFile != null) meshKey = MeshKey.parse(Files.readString(meshPskFile, StandardCharsets.UTF_8));
        else if (dev && envMesh != null && !envMesh.isBlank()) meshKey = MeshKey.parse(envMesh);
        if (!meshWith.isEmpty() && meshKey == null) throw usage("--mesh-with requires --mesh-psk-file");
        InetSocketAddress metricsListen = null;
        if (metricsAddr != null) {
            try {
                metricsListen = parseAddr(metricsAddr);
            } catch (IllegalArgumentException e) {
                throw usage("invalid --metrics \"" + metricsAddr + "\": " + e.getMessage());
            }
        }
        ClientVerifier verifier = verifyClientUrl == null ? ClientVerifier.ALLOW_ALL : new HttpAdmissionVerifier(verifyClientUrl, verifyFailOpen);
        DerpServerOptions opts = DerpServerOptions.defaults().withMeshKey(meshKey).withVerifier(verifier).withWriteTimeout(writeTimeout);

        EventLoopGroup group = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
        List<AutoCloseable> running = new ArrayList<>();
        try {
            Metrics metrics = metricsListen == null ? null : new Metrics().withJvm();
            if (stun) {
                StunServer s = StunServer.start(new InetSocketAddress(listen.getAddress(), stunPort));
                running.add(s);
                if (metrics != null) DerpMetrics.register(metrics, s);
            }
            DerpServer server = new DerpServer(key, opts);
            // One guard for both listeners: they share the process's file descriptors.
            ConnectionGuard guard = new ConnectionGuard(StandaloneDerper.defaultLimits());
            BootstrapDns bootstrap = new BootstrapDns(() -> bootstrapDnsNames);
            if (!bootstrapDnsNames.isEmpty()) {
                // derper's loop: resolve now and every 10 minutes, off the event loops.
                var refresher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                        Thread.ofPlatform().name("bootstrap-dns").daemon().factory());
                refresher.scheduleWithFixedDelay(bootstrap::refresh, 0, 10, java.util.concurrent.TimeUnit.MINUTES);
                running.add(refresher::shutdownNow);
            }
            StandaloneDerper http = StandaloneDerper.start(server, listen, ssl, group, guard, derp, bootstrap);
            running.add(http);
            MetricsServer ms = null;
            if (metrics != null) {
                DerpMetrics.register(metrics, server);
                GuardMetrics.register(metrics, guard, "lattice_http");
                ms = MetricsServer.start(metricsListen, metrics, guard, group);
                running.add(ms);
            }
            for (String m : meshWith) {
                running.add(new MeshPeer(server, meshUrl(m), DerpClientOptions.defaults().withInsecureForTests(meshInsecure), group).start());
            }
            return new Running(http, ms, tls, running, group);
        } catch (Exception | Error e) {
            new Running(null, null, tls, running, group).close();
            throw e;
        }
    }

    /** Go's listen syntax: ":port" = all interfaces. */
    static InetSocketAddress parseAddr(String a) {
        int colon = a.lastIndexOf(':');
        if (colon < 0) throw new IllegalArgumentException("expected :port, ip:port or [ip]:port");
        String host = a.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(a.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the port is not a number");
        }
        if (port < 0 || port > 65535) throw new IllegalArgumentException("the port is out of range");
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        return host.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
    }

    static URI meshUrl(String entry) {
        if (entry.startsWith("http://") || entry.startsWith("https://")) return URI.create(entry);
        String[] parts = entry.split("/");
        if (parts.length > 2) throw new IllegalArgumentException("too many components in host tuple " + entry);
        // host/dialhost: dial the second name; TLS names are then checked against it, unlike Go's SNI override.
        return URI.create("https://" + parts[parts.length - 1] + "/derp");
    }

    /** Reads {@code {"PrivateKey":"privkey:…"}} like derper, or writes a new one (mode 0600). */
    private NodePrivateKey loadKey() throws IOException {
        Path p = config;
        if (p == null) {
            if (!"root".equals(System.getProperty("user.name"))) throw usage("-c <config path> not specified");
            p = Path.of("/var/lib/derper/derper.key");
        }
        JsonMapper json = JsonMapper.builder().build();
        if (Files.exists(p)) {
            var node = json.readTree(Files.readString(p));
            var k = node.get("PrivateKey");
            if (k == null) throw new IOException("derper: config " + p + " has no PrivateKey");
            return NodePrivateKey.parse(k.asString());
        }
        NodePrivateKey k = NodePrivateKey.generate();
        if (p.getParent() != null) Files.createDirectories(p.getParent());
        Path tmp = Files.createTempFile(p.toAbsolutePath().getParent(), ".derper", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, json.writerWithDefaultPrettyPrinter().writeValueAsString(Map.of("PrivateKey", k.toText())));
        Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE);
        return k;
    }

    /** Go's time.Duration syntax for the common units (e.g. 2s, 500ms, 1m30s). */
    static final class GoDuration implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String v) {
            var m = java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)").matcher(v);
            int pos = 0;
            double nanos = 0;
            while (m.find() && m.start() == pos) {
                double n = Double.parseDouble(m.group(1));
                nanos += n * switch (m.group(2)) {
                    case "ns" -> 1;
                    case "us", "µs" -> 1e3;
                    case "ms" -> 1e6;
                    case "s" -> 1e9;
                    case "m" -> 60e9;
                    default -> 3600e9;
                };
                pos = m.end();
            }
            if (pos != v.length() && !v.equals("0")) throw new CommandLine.TypeConversionException("bad duration " + v);
            return Duration.ofNanos((long) nanos);
        }
    }
}
