package dev.lattice.derp.cli;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.client.DerpClientOptions;
import dev.lattice.derp.mesh.MeshPeer;
import dev.lattice.derp.server.ClientVerifier;
import dev.lattice.derp.server.DerpServer;
import dev.lattice.derp.server.DerpServerOptions;
import dev.lattice.derp.server.HttpAdmissionVerifier;
import dev.lattice.derp.standalone.StandaloneDerper;
import dev.lattice.derp.stun.StunServer;
import dev.lattice.systemd.SystemdNotify;
import dev.lattice.wire.derp.MeshKey;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
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
import picocli.CommandLine.Option;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code lattice derper}: a standalone DERP relay + STUN server with tailscale {@code cmd/derper}'s flags (both
 * {@code -flag} and {@code --flag} spellings). TLS is served when the port is 443 or {@code --certmode manual};
 * only manual certificates are supported ({@code <certdir>/<hostname>.crt} and {@code .key}, PEM, key in PKCS#8).
 */
@Command(name = "derper", mixinStandardHelpOptions = true, description = "DERP relay and STUN server (Tailscale protocol)")
public final class DerperCommand implements Callable<Integer> {
    @Option(names = {"-a", "--addr", "-addr"}, defaultValue = ":443", description = "listen address: :port, ip:port or [ip]:port")
    String addr;
    @Option(names = {"--dev", "-dev"}, description = "localhost development mode: plain HTTP on :3340, fresh key")
    boolean dev;
    @Option(names = {"--stun-port", "-stun-port"}, defaultValue = "3478", description = "UDP port for STUN, on the -a address")
    int stunPort;
    @Option(names = {"--stun", "-stun"}, defaultValue = "true", arity = "0..1", description = "run a STUN server")
    boolean stun;
    @Option(names = {"--derp", "-derp"}, defaultValue = "true", arity = "0..1", description = "run the DERP server")
    boolean derp;
    @Option(names = {"-c", "--config", "-config"}, description = "config file with the server key (created if missing)")
    Path config;
    @Option(names = {"--certmode", "-certmode"}, defaultValue = "letsencrypt", description = "manual (letsencrypt is not supported)")
    String certMode;
    @Option(names = {"--certdir", "-certdir"}, description = "directory holding <hostname>.crt and <hostname>.key")
    Path certDir;
    @Option(names = {"--hostname", "-hostname"}, defaultValue = "derp.tailscale.com", description = "TLS host name (certificate file base name)")
    String hostname;
    @Option(names = {"--verify-client-url", "-verify-client-url"}, description = "admission controller URL (tailcfg.DERPAdmitClientRequest)")
    URI verifyClientUrl;
    @Option(names = {"--verify-client-url-fail-open", "-verify-client-url-fail-open"}, defaultValue = "true", arity = "0..1",
            description = "admit clients when the admission controller is unreachable")
    boolean verifyFailOpen;
    @Option(names = {"--mesh-psk-file", "-mesh-psk-file"}, description = "file with the 64-hex-digit mesh key")
    Path meshPskFile;
    @Option(names = {"--mesh-with", "-mesh-with"}, split = ",",
            description = "servers to mesh with: host, host/dialhost, or a full http(s)://host:port/derp URL")
    List<String> meshWith = new ArrayList<>();
    @Option(names = {"--mesh-insecure-for-tests"}, hidden = true)
    boolean meshInsecure;
    @Option(names = {"--tcp-write-timeout", "-tcp-write-timeout"}, defaultValue = "2s", converter = GoDuration.class,
            description = "disconnect a client whose socket stays unwritable this long (Go duration, e.g. 2s)")
    Duration writeTimeout;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Entry point for the launcher's role dispatch. */
    public static int run(String[] args) {
        return new CommandLine(new DerperCommand()).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        if (dev) addr = ":3340";
        InetSocketAddress listen = parseAddr(addr);
        boolean tls = listen.getPort() == 443 || "manual".equals(certMode);
        SslContext ssl = null;
        if (tls) {
            if (!"manual".equals(certMode)) {
                System.err.println("derper: --certmode " + certMode + " is not supported; use --certmode manual with --certdir");
                return 2;
            }
            if (certDir == null) {
                System.err.println("derper: --certmode manual needs --certdir");
                return 2;
            }
            ssl = SslContextBuilder.forServer(certDir.resolve(hostname + ".crt").toFile(), certDir.resolve(hostname + ".key").toFile()).build();
        }
        NodePrivateKey key = dev ? NodePrivateKey.generate() : loadKey();
        MeshKey meshKey = null;
        String envMesh = System.getenv("TS_DEBUG_DERP_MESH_KEY");
        if (meshPskFile != null) meshKey = MeshKey.parse(Files.readString(meshPskFile, StandardCharsets.UTF_8));
        else if (dev && envMesh != null && !envMesh.isBlank()) meshKey = MeshKey.parse(envMesh);
        if (!meshWith.isEmpty() && meshKey == null) {
            System.err.println("derper: --mesh-with requires --mesh-psk-file");
            return 2;
        }
        ClientVerifier verifier = verifyClientUrl == null ? ClientVerifier.ALLOW_ALL : new HttpAdmissionVerifier(verifyClientUrl, verifyFailOpen);
        DerpServerOptions opts = DerpServerOptions.defaults().withMeshKey(meshKey).withVerifier(verifier).withWriteTimeout(writeTimeout);

        EventLoopGroup group = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
        List<AutoCloseable> running = new ArrayList<>();
        try {
            if (stun) {
                running.add(StunServer.start(new InetSocketAddress(listen.getAddress(), stunPort)));
            }
            DerpServer server = new DerpServer(key, opts);
            StandaloneDerper http = StandaloneDerper.start(server, listen, ssl, group);
            running.add(http);
            System.err.println("derper: serving on " + http.boundAddress() + (tls ? " with TLS" : "") + ", server key " + server.publicKey());
            for (String m : meshWith) {
                running.add(new MeshPeer(server, meshUrl(m), DerpClientOptions.defaults().withInsecureForTests(meshInsecure), group).start());
            }
            SystemdNotify systemd = SystemdNotify.fromEnvironment();
            systemd.ready("relaying on " + http.boundAddress());
            CountDownLatch stop = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                systemd.stopping();
                stop.countDown();
            }));
            stop.await();
            return 0;
        } finally {
            for (AutoCloseable c : running.reversed()) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // shutting down
                }
            }
            group.shutdownGracefully();
        }
    }

    /** Go's listen syntax: ":port" = all interfaces. */
    static InetSocketAddress parseAddr(String a) {
        int colon = a.lastIndexOf(':');
        if (colon < 0) throw new CommandLine.ParameterException(new CommandLine(new DerperCommand()), "invalid server address: " + a);
        String host = a.substring(0, colon);
        int port = Integer.parseInt(a.substring(colon + 1));
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
            if (!"root".equals(System.getProperty("user.name"))) throw new CommandLine.ParameterException(new CommandLine(this), "derper: -c <config path> not specified");
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
