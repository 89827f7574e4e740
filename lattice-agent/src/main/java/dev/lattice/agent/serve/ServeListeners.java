package dev.lattice.agent.serve;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.lattice.agent.peerapi.Peer;
import dev.lattice.wire.ip.IpPrefix;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners a {@link ServeConfig} asks for, on each of the node's tailnet addresses (so only the tailnet
 * reaches them, through the TUN and its packet filter): HTTP and HTTPS servers whose requests go to the web
 * handlers ({@link WebHandler}), and raw TCP forwards (with TLS terminated first when asked). HTTPS uses the
 * node's certificate from latticed's certificate manager, fetched when the listener starts and read again at each
 * handshake, so a renewal is picked up. Connections and requests run on virtual threads.
 */
public final class ServeListeners implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ServeListeners.class);

    /** What the listeners need from latticed. */
    public interface Env {
        /** The tailnet node at {@code remote} (whois through the netmap), or null. */
        Peer whois(InetSocketAddress remote);

        /** The node's certificate domain (its MagicDNS name), or null when the control server offers none. */
        String certDomain();

        /** The node's certificate and key for {@code domain}, from the cache or the ACME CA. */
        dev.lattice.agent.cert.CertPair cert(String domain) throws IOException;

        /**
         * The capabilities the packet filter's grants give the tailnet node at {@code remote} towards this node, with
         * their values (tailscale's {@code PeerCaps}); for {@code Tailscale-App-Capabilities}.
         */
        default Map<String, List<tools.jackson.databind.JsonNode>> peerCaps(InetSocketAddress remote) {
            return Map.of();
        }
    }

    static {
        // Must run before the JDK's HTTP client is first used (it reads the property once): ServeListeners is made
        // when latticed starts.
        // A reverse proxy keeps the client's Host; the JDK's HTTP client refuses to set it unless told.
        String p = System.getProperty("jdk.httpclient.allowRestrictedHeaders", "");
        if (!p.toLowerCase(Locale.ROOT).contains("host")) {
            System.setProperty("jdk.httpclient.allowRestrictedHeaders", p.isEmpty() ? "host" : p + ",host");
        }
    }

    /**
     * A request (head and body) must arrive whole within this many seconds, or its connection is closed: without
     * it the JDK's server lets a peer that trickles a header byte now and then hold a connection (and a thread)
     * forever. Keep-alive connections idle for 30 s are closed already (the JDK's idle interval), and so are new
     * connections that send nothing for that long. tailscale's serve sets no limits at all (v1.102.3); this is
     * the counterpart of lattice-control's {@code limits.request_timeout}. The system property
     * {@code lattice.serve.request_timeout_seconds} changes it (tests).
     */
    static final long REQUEST_TIMEOUT_SECONDS = Long.getLong("lattice.serve.request_timeout_seconds", 60);

    static {
        // The JDK's HTTP server reads its limits once, from system properties, when the first server is made:
        // only serve uses it in latticed, and this runs before serve makes one. An operator's own setting wins.
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", Long.toString(REQUEST_TIMEOUT_SECONDS));
        }
    }

    private final Env env;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    private final List<AutoCloseable> open = new ArrayList<>();
    private ServeConfig config = ServeConfig.EMPTY;
    private List<InetAddress> addrs = List.of();
    /** Funnel: the loopback listener of each port with Funnel on, where the peer API's ingress hands connections. */
    private volatile Map<Integer, InetSocketAddress> funnelBackends = Map.of();
    /** Funnel: the internet client behind each loopback connection, by the connection's local (source) port. */
    private final Map<Integer, InetSocketAddress> funnelSources = new java.util.concurrent.ConcurrentHashMap<>();
    private boolean closed;
    private int generation;

    public ServeListeners(Env env) {
        this.env = Objects.requireNonNull(env, "env");
    }

    /**
     * Serves {@code c} on {@code addresses}: nothing happens when both are what is served already; otherwise all
     * listeners are closed and the new ones opened. A port that cannot be bound is logged and tried again shortly
     * (the address may not be on the TUN yet), a few times.
     */
    public synchronized void apply(ServeConfig c, List<InetAddress> addresses) {
        if (closed || (c.equals(config) && addresses.equals(addrs) && !open.isEmpty())) return;
        rebinds = 0;
        openAll(c, addresses);
    }

    /** Binding again gives up after this many tries (something else holds the port): the next change retries. */
    static final int MAX_REBINDS = 5;
    private int rebinds;

    private void openAll(ServeConfig c, List<InetAddress> addresses) {
        closeAll();
        config = c;
        addrs = List.copyOf(addresses);
        generation++;
        funnelBackends = Map.of();
        if (c.tcp().isEmpty() || addrs.isEmpty()) return;
        boolean failed = false;
        Map<Integer, InetSocketAddress> backends = new java.util.HashMap<>();
        for (Map.Entry<Integer, ServeConfig.TcpPortHandler> e : c.tcp().entrySet()) {
            if (!funnelOn(c, e.getKey())) continue;
            try {
                Listener l = listen(InetAddress.getLoopbackAddress(), 0, e.getKey(), e.getValue(), true);
                open.add(l.closer());
                backends.put(e.getKey(), l.address());
            } catch (IOException ex) {
                log.warn("funnel: cannot listen for port {}: {}", e.getKey(), ex.getMessage());
            }
        }
        funnelBackends = Map.copyOf(backends);
        for (Map.Entry<Integer, ServeConfig.TcpPortHandler> e : c.tcp().entrySet()) {
            for (InetAddress ip : addrs) {
                try {
                    open.add(listen(ip, e.getKey(), e.getKey(), e.getValue(), false).closer());
                } catch (IOException ex) {
                    failed = true;
                    log.warn("serve: cannot listen on {}:{}: {}", IpPrefix.format(ip), e.getKey(), ex.getMessage());
                }
            }
        }
        if (failed && rebinds++ < MAX_REBINDS) {
            int gen = generation;
            Thread.ofVirtual().name("serve-rebind").start(() -> {
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException ie) {
                    return;
                }
                synchronized (this) {
                    if (gen != generation || closed) return;
                    openAll(config, addrs);
                }
            });
        }
        if (c.tcp().values().stream().anyMatch(ServeConfig.TcpPortHandler::https)) prefetchCert();
    }

    /** Closes every listener (down, logout); {@link #apply} opens them again. */
    public synchronized void stop() {
        closeAll();
        config = ServeConfig.EMPTY;
        addrs = List.of();
        generation++;
    }

    /** The ports listened on now (tests, status). */
    public synchronized int listeners() {
        return open.size();
    }

    /** Whether any AllowFunnel entry for {@code port} is on (tailscale's {@code HasFunnelForTarget} per port). */
    static boolean funnelOn(ServeConfig c, int port) {
        for (Map.Entry<String, Boolean> e : c.allowFunnel().entrySet()) {
            if (Boolean.TRUE.equals(e.getValue()) && e.getKey().endsWith(":" + port)) return true;
        }
        return false;
    }

    /**
     * Where the peer API's {@code /v0/ingress} hands Funnel connections: the loopback listener of the target's port,
     * when the serve config has AllowFunnel for exactly that {@code host:port}.
     */
    public dev.lattice.agent.peerapi.Ingress ingress() {
        return new dev.lattice.agent.peerapi.Ingress() {
            @Override
            public InetSocketAddress backend(String target) {
                ServeConfig c;
                synchronized (ServeListeners.this) {
                    c = config;
                }
                if (!Boolean.TRUE.equals(c.allowFunnel().get(target))) return null;
                int colon = target.lastIndexOf(':');
                try {
                    return funnelBackends.get(Integer.parseInt(target.substring(colon + 1)));
                } catch (NumberFormatException e) {
                    return null;
                }
            }

            @Override
            public AutoCloseable connected(int localPort, InetSocketAddress src) {
                funnelSources.put(localPort, src);
                return () -> funnelSources.remove(localPort, src);
            }
        };
    }

    /** The Funnel client behind a loopback connection from {@code remote}, or null when the ingress did not hand it over. */
    private InetSocketAddress funnelSource(InetSocketAddress remote) {
        if (remote == null || !remote.getAddress().isLoopbackAddress()) return null;
        return funnelSources.get(remote.getPort());
    }

    private record Listener(InetSocketAddress address, AutoCloseable closer) {}

    /**
     * @param bindPort the port bound ({@code 0} for a Funnel listener on loopback)
     * @param port the served port (the web config's key)
     * @param funnel a Funnel listener: its clients are the ones the ingress handed over, with no tailnet identity
     */
    private Listener listen(InetAddress ip, int bindPort, int port, ServeConfig.TcpPortHandler h, boolean funnel) throws IOException {
        InetSocketAddress at = new InetSocketAddress(ip, bindPort);
        String kind = funnel ? "funnel " : "";
        if (h.https() || h.http()) {
            HttpServer s;
            if (h.https()) {
                HttpsServer hs = HttpsServer.create(at, 64);
                hs.setHttpsConfigurator(new HttpsConfigurator(sslContext()));
                s = hs;
            } else {
                s = HttpServer.create(at, 64);
            }
            s.createContext("/", new WebHandler(() -> config, port, h.https(), env, funnel ? this::funnelSource : null));
            s.setExecutor(workers);
            s.start();
            log.info("serve: {}{} on {}:{}", kind, h.https() ? "https" : "http", IpPrefix.format(ip), s.getAddress().getPort());
            return new Listener(s.getAddress(), () -> s.stop(0));
        }
        ServerSocket ss = new ServerSocket();
        ss.setReuseAddress(true);
        ss.bind(at, 64);
        String target = h.tcpForward();
        boolean tls = h.terminateTls() != null && !h.terminateTls().isEmpty();
        SSLContext ctx = tls ? sslContext() : null;
        workers.execute(() -> acceptLoop(ss, target, ctx, funnel));
        log.info("serve: {}tcp {}:{} -> {}{}", kind, IpPrefix.format(ip), ss.getLocalPort(), target, tls ? " (TLS terminated)" : "");
        return new Listener((InetSocketAddress) ss.getLocalSocketAddress(), ss);
    }

    private void acceptLoop(ServerSocket ss, String target, SSLContext tls, boolean funnel) {
        while (!ss.isClosed()) {
            Socket c;
            try {
                c = ss.accept();
            } catch (IOException e) {
                return; // closed
            }
            workers.execute(() -> forward(c, target, tls, funnel));
        }
    }

    private void forward(Socket client, String target, SSLContext tls, boolean funnel) {
        InetSocketAddress remote = (InetSocketAddress) client.getRemoteSocketAddress();
        Peer peer = funnel ? null : env.whois(remote);
        if (funnel ? funnelSource(remote) == null : peer == null) {
            closeQuietly(client);
            return;
        }
        String who = peer == null ? "a Funnel client" : peer.displayName();
        Socket in = client;
        Socket out = new Socket();
        try {
            if (tls != null) {
                SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(client, null, client.getPort(), true);
                s.setUseClientMode(false);
                s.startHandshake();
                in = s;
            }
            int colon = target.lastIndexOf(':');
            String host = target.substring(0, colon);
            if (host.startsWith("[")) host = host.substring(1, host.length() - 1);
            out.connect(new InetSocketAddress(host, Integer.parseInt(target.substring(colon + 1))), 10_000);
        } catch (IOException e) {
            log.debug("serve: forward to {} for {} failed: {}", target, who, e.getMessage());
            closeQuietly(in);
            closeQuietly(out);
            return;
        }
        Socket a = in;
        Thread up = Thread.ofVirtual().start(() -> pipe(a, out));
        pipe(out, a);
        try {
            up.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly(a);
        closeQuietly(out);
    }

    /** Copies {@code from} to {@code to} until EOF, then half-closes {@code to} (or closes it when it is TLS). */
    private static void pipe(Socket from, Socket to) {
        try {
            from.getInputStream().transferTo(to.getOutputStream());
            if (to instanceof SSLSocket) to.close();
            else to.shutdownOutput();
        } catch (IOException e) {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private SSLContext sslContext() throws IOException {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(new javax.net.ssl.KeyManager[] {new NodeKeyManager(env)}, null, null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("TLS setup: " + e.getMessage(), e);
        }
    }

    private void prefetchCert() {
        workers.execute(() -> {
            String d = env.certDomain();
            if (d == null) {
                log.warn("serve: HTTPS needs a certificate, and the control server offers none (dns.certificates)");
                return;
            }
            try {
                env.cert(d);
            } catch (IOException | RuntimeException e) {
                log.warn("serve: certificate for {}: {}", d, e.getMessage());
            }
        });
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }

    private void closeAll() {
        for (AutoCloseable c : open) closeQuietly(c);
        open.clear();
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            closeAll();
        }
        workers.shutdownNow();
    }
}
