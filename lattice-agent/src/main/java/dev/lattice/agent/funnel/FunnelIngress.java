package dev.lattice.agent.funnel;

import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.agent.peerapi.PeerApiServices;
import dev.lattice.guard.ConnectionSlots;
import dev.lattice.guard.LogLimiter;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Node;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Funnel ingress (the role Tailscale runs for its customers): listens on public TCP ports, reads each
 * connection's TLS server name without terminating TLS, finds the peer of that name that has Funnel on
 * (Hostinfo.IngressEnabled), and asks its peer API over the tailnet for {@code POST /v0/ingress} with tailscale's
 * {@code Tailscale-Ingress-Src} and {@code Tailscale-Ingress-Target} headers. After the node's {@code 101} the bytes
 * are copied both ways: TLS ends on the node, the ingress never sees plaintext. An unknown name, a node without
 * Funnel, a refusal or anything that is not a TLS ClientHello closes the connection.
 *
 * <p>Runs inside latticed on a node tagged as the ingress ({@code latticed --funnel-listen :443}); control makes the
 * Funnel nodes its peers and grants it the ingress capability.
 */
public final class FunnelIngress implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FunnelIngress.class);
    private static final LogLimiter LOG = LogLimiter.perMinute(log);

    /**
     * @param handshakeTimeout how long a client has to send its ClientHello, and the node to answer the ingress request
     * @param maxConnections connections relayed at once, in all
     * @param maxPerSource connections at once from one address (IPv6: its /64)
     */
    public record Options(Duration handshakeTimeout, int maxConnections, int maxPerSource) {
        public static Options defaults() {
            return new Options(Duration.ofSeconds(10), 4096, 64);
        }
    }

    /** Reads a ClientHello may take to arrive. */
    static final int MAX_READS = 64;

    private final Supplier<NetworkMap> netmap;
    private final Options options;
    private final List<ServerSocket> listeners = new ArrayList<>();
    /** Keyed by {@link #sourceKey}. */
    private final ConnectionSlots<String> slots;
    private volatile boolean closed;
    private final Stats stats = new Stats();

    /** How a visitor's connection ended up: handed to a node, or why it was closed. */
    public enum Result {
        /** Handed to the node's peer API. */
        ACCEPTED("accepted"),
        /** Over the per-source or total connection cap. */
        TOO_MANY("too_many"),
        /** Not a TLS ClientHello, or not one in time. */
        NOT_TLS("not_tls"),
        /** A ClientHello without a server name. */
        NO_NAME("no_name"),
        /** No node of that name has Funnel on. */
        NO_FUNNEL("no_funnel"),
        /** The node did not take it (its answer was not 101). */
        NODE_REFUSED("node_refused"),
        /** The node could not be reached. */
        NODE_UNREACHABLE("node_unreachable");

        /** The metric's {@code result} label. */
        public final String label;

        Result(String label) {
            this.label = label;
        }
    }

    /** Counters for latticed's metrics: connections by result, and bytes relayed each way once handed over. */
    public static final class Stats {
        private final java.util.EnumMap<Result, java.util.concurrent.atomic.LongAdder> connections = new java.util.EnumMap<>(Result.class);
        /** Bytes from visitors to nodes, and from nodes back to visitors. */
        public final java.util.concurrent.atomic.LongAdder bytesFromVisitors = new java.util.concurrent.atomic.LongAdder(),
                bytesToVisitors = new java.util.concurrent.atomic.LongAdder();

        Stats() {
            for (Result r : Result.values()) connections.put(r, new java.util.concurrent.atomic.LongAdder());
        }

        void count(Result r) {
            connections.get(r).increment();
        }

        public long connections(Result r) {
            return connections.get(r).sum();
        }
    }

    /** The ingress's counters (read at scrape time). */
    public Stats stats() {
        return stats;
    }

    /**
     * Registers {@code latticed_funnel_ingress_connections_total{result}} and
     * {@code latticed_funnel_ingress_bytes_total{direction}} on {@code registry}.
     */
    public void registerMetrics(io.prometheus.metrics.model.registry.PrometheusRegistry registry) {
        io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name("latticed_funnel_ingress_connections")
                .help("Funnel ingress connections from the internet, by what became of them").labelNames("result")
                .callback(cb -> {
                    for (Result r : Result.values()) cb.call(stats.connections(r), r.label);
                }).register(registry);
        io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name("latticed_funnel_ingress_bytes")
                .help("Bytes the Funnel ingress relayed between visitors and nodes").labelNames("direction")
                .callback(cb -> {
                    cb.call(stats.bytesFromVisitors.sum(), "from_visitors");
                    cb.call(stats.bytesToVisitors.sum(), "to_visitors");
                }).register(registry);
    }

    private FunnelIngress(Supplier<NetworkMap> netmap, Options options) {
        this.netmap = Objects.requireNonNull(netmap);
        this.options = options;
        this.slots = new ConnectionSlots<>(options.maxConnections(), options.maxPerSource());
    }

    /** Listens on each of {@code addrs} now (a port taken is an error: the caller should not start half an ingress). */
    public static FunnelIngress start(List<InetSocketAddress> addrs, Supplier<NetworkMap> netmap, Options options)
            throws IOException {
        FunnelIngress f = new FunnelIngress(netmap, options);
        try {
            for (InetSocketAddress a : addrs) {
                ServerSocket ss = new ServerSocket();
                ss.setReuseAddress(true);
                ss.bind(a, 256);
                f.listeners.add(ss);
                log.info("funnel ingress: listening on {}", IpPrefix.hostPort((InetSocketAddress) ss.getLocalSocketAddress()));
            }
        } catch (IOException e) {
            f.close();
            throw new IOException("funnel ingress: cannot listen on " + addrs + ": " + e.getMessage(), e);
        }
        for (ServerSocket ss : f.listeners) Thread.ofPlatform().daemon().name("funnel-accept").start(() -> f.acceptLoop(ss));
        return f;
    }

    /** The addresses listened on (tests: with port 0, the ports picked). */
    public List<InetSocketAddress> addresses() {
        return listeners.stream().map(s -> (InetSocketAddress) s.getLocalSocketAddress()).toList();
    }

    private void acceptLoop(ServerSocket ss) {
        int port = ss.getLocalPort();
        while (!closed) {
            Socket c;
            try {
                c = ss.accept();
            } catch (IOException e) {
                if (closed) return;
                log.warn("funnel ingress: accept on port {}: {}", port, e.getMessage());
                continue;
            }
            InetSocketAddress remote = (InetSocketAddress) c.getRemoteSocketAddress();
            String key = sourceKey(remote.getAddress());
            if (!slots.tryAcquire(key)) {
                stats.count(Result.TOO_MANY);
                LOG.info(remote.getAddress(), "funnel ingress: too many connections from {}; closed", IpPrefix.format(remote.getAddress()));
                closeQuietly(c);
                continue;
            }
            Thread.ofVirtual().name("funnel-conn").start(() -> {
                try {
                    serve(c, port);
                } finally {
                    slots.release(key);
                }
            });
        }
    }

    /** An IPv4 address, or an IPv6 address's /64 (one host usually has a whole /64). */
    static String sourceKey(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 4) return a.getHostAddress();
        return java.util.HexFormat.of().formatHex(b, 0, 8);
    }

    private void serve(Socket client, int port) {
        InetSocketAddress src = (InetSocketAddress) client.getRemoteSocketAddress();
        Socket node = null;
        try {
            int timeout = Math.toIntExact(options.handshakeTimeout().toMillis());
            client.setSoTimeout(timeout);
            client.setTcpNoDelay(true);
            client.setKeepAlive(true); // a visitor that vanished without a FIN does not hold its slot for good
            byte[] buf = new byte[ClientHello.MAX_BYTES];
            int len = 0;
            ClientHello.Result r = ClientHello.Result.MORE;
            InputStream in = client.getInputStream();
            int reads = 0;
            // Each read parses the bytes so far again: a client trickling a byte at a time would cost quadratic CPU,
            // so the hello must come in a few pieces (browsers send it in one or two segments).
            try {
                while (r.status() == ClientHello.Status.NEED_MORE && len < buf.length && reads++ < MAX_READS) {
                    int n = in.read(buf, len, buf.length - len);
                    if (n < 0) break;
                    len += n;
                    r = ClientHello.parse(buf, len);
                }
            } catch (java.net.SocketTimeoutException e) {
                stats.count(Result.NOT_TLS);
                throw e;
            }
            if (r.status() != ClientHello.Status.FOUND) {
                stats.count(r.status() == ClientHello.Status.NO_SNI ? Result.NO_NAME : Result.NOT_TLS);
                LOG.info(src.getAddress(), "funnel ingress: from {}: {}; closed", IpPrefix.format(src.getAddress()),
                        r.status() == ClientHello.Status.NO_SNI ? "no server name" : "not a TLS ClientHello");
                return;
            }
            String name = r.name();
            NetworkMap nm = netmap.get();
            Node peer = route(nm, name);
            URI base = peer == null ? null : PeerApiServices.base(nm, peer).orElse(null);
            if (base == null) {
                stats.count(Result.NO_FUNNEL);
                LOG.info(src.getAddress(), "funnel ingress: no node has Funnel on for {}; closed", name);
                return;
            }
            node = new Socket();
            try {
                node.connect(new InetSocketAddress(base.getHost().replace("[", "").replace("]", ""), base.getPort()), timeout);
            } catch (IOException e) {
                stats.count(Result.NODE_UNREACHABLE);
                throw e;
            }
            node.setSoTimeout(timeout);
            node.setTcpNoDelay(true);
            node.setKeepAlive(true);
            String host = base.getRawAuthority();
            String req = "POST /v0/ingress HTTP/1.1\r\n"
                    + "Host: " + host + "\r\n"
                    + "Tailscale-Ingress-Src: " + IpPrefix.hostPort(new InetSocketAddress(unmap(src.getAddress()), src.getPort())) + "\r\n"
                    + "Tailscale-Ingress-Target: " + name + ":" + port + "\r\n"
                    + "Content-Length: 0\r\n\r\n";
            OutputStream nodeOut = node.getOutputStream();
            nodeOut.write(req.getBytes(StandardCharsets.US_ASCII));
            nodeOut.flush();
            int status = responseStatus(node.getInputStream());
            if (status != 101) {
                stats.count(Result.NODE_REFUSED);
                LOG.info(src.getAddress(), "funnel ingress: {} refused the connection for {} (HTTP {}); closed",
                        peer.name(), name, status);
                return;
            }
            stats.count(Result.ACCEPTED);
            nodeOut.write(buf, 0, len);
            nodeOut.flush();
            stats.bytesFromVisitors.add(len);
            client.setSoTimeout(0);
            node.setSoTimeout(0);
            Socket n = node;
            Thread up = Thread.ofVirtual().start(() -> pipe(client, n, stats.bytesFromVisitors));
            pipe(n, client, stats.bytesToVisitors);
            up.join();
        } catch (IOException e) {
            log.debug("funnel ingress: connection from {}: {}", IpPrefix.format(src.getAddress()), e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeQuietly(client);
            if (node != null) closeQuietly(node);
        }
    }

    /** The peer named {@code name} (its MagicDNS name) that has Funnel on, or null. */
    static Node route(NetworkMap nm, String name) {
        if (nm == null) return null;
        for (Node p : nm.peers()) {
            String n = p.name();
            if (n == null) continue;
            if (n.endsWith(".")) n = n.substring(0, n.length() - 1);
            if (n.toLowerCase(Locale.ROOT).equals(name) && p.hostinfo() != null && p.hostinfo().ingressEnabled()) return p;
        }
        return null;
    }

    /**
     * Reads an HTTP/1.1 response head (at most 8 KiB, byte by byte so nothing after it is consumed) and returns its
     * status code, or -1 when it is not one.
     */
    static int responseStatus(InputStream in) throws IOException {
        byte[] head = new byte[8192];
        int n = 0;
        while (n < head.length) {
            int c = in.read();
            if (c < 0) return -1;
            head[n++] = (byte) c;
            if (n >= 4 && head[n - 4] == '\r' && head[n - 3] == '\n' && head[n - 2] == '\r' && head[n - 1] == '\n') {
                String line = new String(head, 0, n, StandardCharsets.US_ASCII).split("\r\n", 2)[0];
                String[] parts = line.split(" ", 3);
                if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) return -1;
                try {
                    return Integer.parseInt(parts[1]);
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return -1;
    }

    private static InetAddress unmap(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length != 16 || b[10] != (byte) 0xff || b[11] != (byte) 0xff) return a;
        for (int i = 0; i < 10; i++) if (b[i] != 0) return a;
        try {
            return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
        } catch (java.net.UnknownHostException e) {
            return a;
        }
    }

    /** Copies until EOF, then half-closes the other side so the reverse direction can finish. */
    private static void pipe(Socket from, Socket to, java.util.concurrent.atomic.LongAdder counted) {
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            byte[] b = new byte[16384];
            for (int n; (n = in.read(b)) >= 0; ) {
                out.write(b, 0, n);
                counted.add(n);
            }
            to.shutdownOutput();
        } catch (IOException e) {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        for (ServerSocket s : listeners) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
