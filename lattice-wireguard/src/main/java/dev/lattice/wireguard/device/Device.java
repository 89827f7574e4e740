package dev.lattice.wireguard.device;

import dev.lattice.wireguard.sys.Libc;
import dev.lattice.crypto.IntrinsicChaChaPoly;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import dev.lattice.wire.wireguard.WgMessage;
import dev.lattice.wireguard.allowedips.AllowedIps;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.conn.PathSelector;
import dev.lattice.wireguard.conn.UdpSocket;
import dev.lattice.wireguard.conn.UdpTransport;
import dev.lattice.wireguard.tun.TunDevice;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A userspace WireGuard device: one TUN, one UDP socket, any number of peers. Behaviour follows the
 * whitepaper and wireguard-go (handshakes, cookies under load, sessions, timers, roaming, AllowedIPs).
 *
 * <p>The device holds the configuration and composes the parts, split as wireguard-go's {@code device/} is:
 * {@link Send} (TUN to peer), {@link Receive} (peer to TUN), {@link Handshakes} (Noise and its queue),
 * {@link IndexTable} (receiver indices), and per peer {@link Peer} with its {@link Timers}.
 *
 * <p>Threads: a TUN reader takes outbound packets and a UDP reader inbound ones; handshake messages go to a
 * handshake thread through a bounded queue (its fill level is the "under load" signal); one scheduler thread
 * runs the protocol timers. With TUN offloads (TSO/GRO), each read's batch goes through a {@link Pipeline}:
 * encrypted or decrypted on worker threads (one per CPU), sent or written to the TUN in read order. Packet
 * buffers are allocated once and reused; the only per-packet allocation is the JDK cipher's own (full-size packets, see
 * {@link TransportCipher}).
 */
public final class Device implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Device.class);
    public static final int DEFAULT_MTU = 1420;
    /** Room before a plaintext packet for the transport header, so encryption happens in place. */
    static final int HEADROOM = WgMessage.TRANSPORT_HEADER_SIZE;
    static final int MAX_PACKET = 65535;
    /** How long packet threads block in a read before they look at {@link #isClosed()} again. */
    static final int POLL_MILLIS = 500;

    record Identity(NodePrivateKey privateKey, NodePublicKey publicKey, Cookies.Checker checker) {}

    final Clock clock;
    /** Runs the protocol timers and work that must not hold up a packet thread. */
    final ScheduledExecutorService scheduler;
    public final DeviceStats stats = new DeviceStats();
    final IndexTable indices = new IndexTable();
    final Handshakes handshakes;
    final Send send;
    final Receive receive;
    private final TunDevice tun;
    private final UdpTransport.Factory udpFactory;
    private final ConcurrentHashMap<NodePublicKey, Peer> peers = new ConcurrentHashMap<>();
    private final AllowedIps<Peer> allowedIps = new AllowedIps<>();
    private final Object configLock = new Object();
    private final List<Thread> threads = new ArrayList<>();
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();

    private volatile Identity identity;
    private volatile PathSelector pathSelector;
    private volatile UdpTransport udp;
    private volatile int listenPort;
    private volatile int fwmark;
    private volatile int mtu = DEFAULT_MTU;
    private volatile boolean up;
    private volatile boolean closed;
    private volatile WarmUpLevel warmUp = WarmUpLevel.COMPUTE;
    /**
     * Every how many batches the packet pipelines renew a job (see {@link Pipeline}'s constructor); set before
     * {@link #start}.
     */
    volatile int jobRenewal = Pipeline.NEVER;
    /**
     * The start-up warm-up's throwaway devices: their threads run at {@link #BACKGROUND_NICE}, so that a command the
     * user runs meanwhile (a first {@code lattice up}, a JVM starting on two busy cores) gets the CPU first.
     */
    volatile boolean background;
    /** The nice value of background threads: about a tenth of a normal thread's share of a busy CPU. */
    public static final int BACKGROUND_NICE = 10;

    /** What {@link #start} warms up in the background (see {@link WarmUp} and {@link LoopbackWarmUp}). */
    public enum WarmUpLevel {
        /** Nothing (the throwaway devices of the loopback warm-up). */
        NONE,
        /** The cipher and the TSO/GRO compute on made-up packets: the default. */
        COMPUTE,
        /**
         * As COMPUTE, then, with TUN offloads, a short bulk transfer between two throwaway devices over loopback
         * (as {@link #warmUpLoopback}): for a daemon with no other warm-ups, whose first transfer should not run cold code.
         */
        LOOPBACK
    }

    public Device(TunDevice tun, UdpTransport.Factory udpFactory, Clock clock) {
        this.tun = tun;
        this.udpFactory = udpFactory;
        this.clock = clock;
        ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "wg-timers");
            t.setDaemon(true);
            return t;
        });
        s.setRemoveOnCancelPolicy(true);
        this.scheduler = s;
        this.handshakes = new Handshakes(this);
        this.send = new Send(this, tun);
        this.receive = new Receive(this, tun);
    }

    /**
     * Runs {@link LoopbackWarmUp} now, on the calling thread (up to ~8 s; UDP sockets on free ports and threads of two
     * throwaway devices, all closed at the end), for a daemon that runs its start-up warm-ups in an order of its own.
     * It stops early once this device has carried a megabyte of transport data since the call (a real transfer,
     * which would only share the CPU with it). Returns the bytes moved each way.
     */
    public long warmUpLoopback() throws IOException, InterruptedException {
        return warmUpLoopback(java.util.function.UnaryOperator.identity());
    }

    /**
     * As {@link #warmUpLoopback()}, with the throwaway devices' TUNs wrapped by {@code wrap} as this device's is (so the
     * wrapper's code is compiled before real traffic, and the calls into it see its type); see {@link LoopbackWarmUp}.
     * The throwaway devices' addresses are {@link #WARM_UP_ADDRESSES}, which the wrapper must let through.
     */
    public long warmUpLoopback(java.util.function.UnaryOperator<TunDevice> wrap) throws IOException, InterruptedException {
        return warmUpLoopback(wrap, WarmUpLink.DIRECT);
    }

    /**
     * As {@link #warmUpLoopback(java.util.function.UnaryOperator)}, with the two throwaway devices reaching each other
     * through {@code link}: a daemon whose peers are reached through a {@link PathSelector} of its own (latticed's
     * magic socket) makes them use one too, so that the per-packet code of its paths is compiled before real traffic.
     */
    public long warmUpLoopback(java.util.function.UnaryOperator<TunDevice> wrap, WarmUpLink link)
            throws IOException, InterruptedException {
        return warmUpLoopback(wrap, link, () -> false);
    }

    /**
     * As {@link #warmUpLoopback(java.util.function.UnaryOperator, WarmUpLink)}, holding its rounds while {@code pause}
     * says so: latticed holds them while an `up` logs in and applies its first netmap, whose CPU the warm-up would
     * otherwise take (on two cores, `up` took up to twice as long beside it).
     */
    public long warmUpLoopback(java.util.function.UnaryOperator<TunDevice> wrap, WarmUpLink link,
            java.util.function.BooleanSupplier pause) throws IOException, InterruptedException {
        long start = transportBytes();
        return LoopbackWarmUp.run(LoopbackWarmUp.MIN_ROUNDS, LoopbackWarmUp.DEADLINE_NANOS,
                () -> transportBytes() - start > 1 << 20, pause, wrap, link);
    }

    /** How the loopback warm-up's two started devices, each with the other as its one peer, reach each other. */
    @FunctionalInterface
    public interface WarmUpLink {
        /** Each peer's endpoint is the other device's UDP socket on the loopback address. */
        WarmUpLink DIRECT = (a, ka, peerB, b, kb, peerA) -> {
            InetAddress lo = InetAddress.getLoopbackAddress();
            a.setEndpoint(peerB, new InetSocketAddress(lo, b.listenPort()));
            b.setEndpoint(peerA, new InetSocketAddress(lo, a.listenPort()));
            return () -> {};
        };

        /**
         * Makes {@code peerB} (on {@code a}, whose key is {@code ka}) and {@code peerA} (on {@code b}) reachable, and
         * returns what to close before the devices are.
         */
        AutoCloseable link(Device a, NodePrivateKey ka, Peer peerB, Device b, NodePrivateKey kb, Peer peerA)
                throws IOException, InterruptedException;
    }

    /** The addresses of {@link #warmUpLoopback}'s two made-up peers (a TCP flow each way between them). */
    public static final List<String> WARM_UP_ADDRESSES = List.of("10.255.0.1/32", "10.255.0.2/32");

    /** Transport bytes sent and received with all peers. */
    long transportBytes() {
        long n = 0;
        for (Peer p : peers.values()) n += p.rxBytes.get() + p.txBytes.get();
        return n;
    }

    /** Sets what {@link #start} warms up; call before it. */
    public void setWarmUp(WarmUpLevel level) {
        this.warmUp = java.util.Objects.requireNonNull(level, "level");
    }

    /** Binds the UDP socket and starts the packet threads. */
    public void start() throws IOException {
        synchronized (configLock) {
            if (up) return;
            udp = udpFactory.open(listenPort);
            if (udp instanceof UdpSocket s) s.enableGro();
            listenPort = udp.port();
            if (fwmark != 0) udp.setMark(fwmark);
            try {
                mtu = tun.mtu();
            } catch (IOException e) {
                mtu = DEFAULT_MTU;
            }
            up = true;
        }
        startThread("wg-tun-reader", send::readLoop);
        startThread("wg-udp-reader", receive::readLoop);
        startThread("wg-handshake", handshakes::loop);
        if (warmUp != WarmUpLevel.NONE) {
            boolean loopback = warmUp == WarmUpLevel.LOOPBACK && tun.vnetHdr();
            Thread.ofPlatform().name("wg-warm-up-" + tun.name()).daemon(true).priority(Thread.MIN_PRIORITY).start(() -> {
                try {
                    WarmUp.run();
                    if (loopback && !closed) {
                        long t0 = System.nanoTime();
                        long n = warmUpLoopback();
                        log.debug("data path warm-up: {} bytes each way over loopback in {} ms", n, (System.nanoTime() - t0) / 1_000_000);
                    }
                } catch (Exception e) {
                    log.warn("data path warm-up failed", e);
                }
            });
        }
        scheduler.scheduleWithFixedDelay(this::refreshMtu, 5, 5, TimeUnit.SECONDS);
        if (warmUp == WarmUpLevel.NONE) log.debug("device {} up, listening on UDP port {}", tun.name(), listenPort);
        else log.info("device {} up, listening on UDP port {}", tun.name(), listenPort);
        if (warmUp != WarmUpLevel.NONE) {
            // Slower, not wrong: a JVM started without lattice.jar's manifest (its Add-Opens) seals with the JDK's cipher.
            if (IntrinsicChaChaPoly.available()) log.debug("full-size packets: {}", TransportCipher.largePackets());
            else log.warn("full-size packets: {}", TransportCipher.largePackets());
        }
    }

    private void startThread(String name, Runnable body) {
        Thread t = Thread.ofPlatform().name(name + "-" + tun.name()).daemon(true).start(() -> {
            try {
                if (background) Libc.niceCurrentThread(BACKGROUND_NICE);
                TransportCipher.get(); // before the packets, as a pipeline worker's (see Pipeline.workLoop)
                body.run();
            } catch (RuntimeException e) {
                if (!closed) log.error("{} died", name, e);
            }
        });
        threads.add(t);
    }

    boolean isUp() {
        return up && !closed;
    }

    boolean isClosed() {
        return closed;
    }

    int mtu() {
        return mtu;
    }

    Identity identity() {
        return identity;
    }

    /** The TUN reader hit an error: the interface is gone, so the device stops. */
    void tunFailed(IOException e) {
        if (!closed) log.warn("TUN read failed, device stopping: {}", e.getMessage());
        terminated.complete(null);
    }

    /** Completes when the device stops: closed, or its TUN went away (the interface was deleted). */
    public CompletableFuture<Void> terminated() {
        return terminated;
    }

    private void refreshMtu() {
        try {
            mtu = tun.mtu();
        } catch (IOException | RuntimeException e) {
            // keep the last known MTU
        }
    }

    // --- configuration (UAPI) -------------------------------------------------------------------------

    public NodePrivateKey privateKey() {
        Identity id = identity;
        return id == null ? null : id.privateKey();
    }

    /** Sets (or with null / all-zero, clears) the device's static private key, as wireguard-go does. */
    public void setPrivateKey(NodePrivateKey key) {
        synchronized (configLock) {
            Identity old = identity;
            if (key == null || key.isZero()) {
                identity = null;
            } else {
                if (old != null && old.privateKey().equals(key)) return;
                NodePublicKey pub = key.publicKey();
                Peer self = peers.get(pub);
                if (self != null) removePeer(pub); // a peer with our own key makes no sense
                identity = new Identity(key, pub, new Cookies.Checker(pub, clock));
            }
            for (Peer p : peers.values()) p.expireCurrentKeypairs();
        }
    }

    public int listenPort() {
        return listenPort;
    }

    /** Rebinds the UDP socket to {@code port} (0 = any) when up. */
    public void setListenPort(int port) throws IOException {
        synchronized (configLock) {
            if (!up) {
                listenPort = port;
                return;
            }
            if (port == listenPort && port != 0) return;
            UdpTransport fresh = udpFactory.open(port);
            if (fresh instanceof UdpSocket s) s.enableGro();
            if (fwmark != 0) fresh.setMark(fwmark);
            UdpTransport old = udp;
            udp = fresh;
            listenPort = fresh.port();
            old.close();
        }
    }

    public int fwmark() {
        return fwmark;
    }

    public void setFwmark(int mark) throws IOException {
        synchronized (configLock) {
            fwmark = mark;
            UdpTransport u = udp;
            if (u != null) u.setMark(mark);
        }
    }

    /** Installs the selector that routes peers whose endpoint is {@link Endpoint#virtual()} (null removes it). */
    public void setPathSelector(PathSelector s) {
        pathSelector = s;
    }

    PathSelector pathSelector() {
        return pathSelector;
    }

    /** The bound UDP transport (null until started), so the path selector can send disco and STUN on it. */
    public UdpTransport transport() {
        return udp;
    }

    /**
     * A WireGuard datagram that arrived some other way than the UDP socket (from DERP), at {@code buf[0..len)}.
     * The buffer is decrypted in place and needs {@link #INDIRECT_SLACK} spare bytes after the datagram.
     */
    public void receiveIndirect(byte[] buf, int len) {
        if (!isUp()) return;
        try {
            receive.receiveDatagram(buf, len, Endpoint.virtual().sockaddr().clone(), null);
        } catch (RuntimeException e) {
            stats.malformed.increment();
            log.debug("dropped indirect datagram after error", e);
        }
    }

    /** Spare bytes {@link #receiveIndirect} needs after a datagram. */
    public static final int INDIRECT_SLACK = 64;

    public List<Peer> peers() {
        return new ArrayList<>(peers.values());
    }

    public Peer peer(NodePublicKey key) {
        return peers.get(key);
    }

    /** Adds a peer (or returns the existing one); null if it is our own public key. */
    public Peer addPeer(NodePublicKey key) {
        synchronized (configLock) {
            Identity id = identity;
            if (id != null && id.publicKey().equals(key)) return null;
            return peers.computeIfAbsent(key, k -> new Peer(this, k));
        }
    }

    /**
     * Forgets the sessions with {@code key}'s peer so the next packet to it starts a fresh handshake (tailscale's
     * ResetDevicePeer, for a peer that restarted: its end lost the session, and waiting for ours to time out costs
     * up to 15 s of silence). Returns false if there is no such peer.
     */
    public boolean resetSession(NodePublicKey key) {
        Peer p = peers.get(key);
        if (p == null) return false;
        p.zeroAndFlushAll();
        p.expireCurrentKeypairs();
        return true;
    }

    public void removePeer(NodePublicKey key) {
        synchronized (configLock) {
            Peer p = peers.remove(key);
            if (p == null) return;
            allowedIps.removeValue(p);
            p.stop();
        }
    }

    public void removeAllPeers() {
        synchronized (configLock) {
            for (NodePublicKey k : new ArrayList<>(peers.keySet())) removePeer(k);
        }
    }

    public AllowedIps<Peer> allowedIps() {
        return allowedIps;
    }

    public void setEndpoint(Peer p, InetSocketAddress a) {
        p.endpoint = a == null ? null : Endpoint.of(a);
    }

    /** Sets an endpoint as is, e.g. {@link Endpoint#virtual()} for a peer routed by the path selector. */
    public void setEndpoint(Peer p, Endpoint e) {
        p.endpoint = e;
    }

    public void setPresharedKey(Peer p, PresharedKey psk) {
        p.presharedKey = psk == null ? PresharedKey.NONE : psk;
    }

    /** Sets the persistent keepalive; turning it on while up sends a keepalive at once, like wireguard-go. */
    public void setPersistentKeepalive(Peer p, int seconds) {
        int old = p.persistentKeepaliveSeconds;
        p.persistentKeepaliveSeconds = seconds;
        if (old == 0 && seconds > 0 && isUp() && p.endpoint != null) {
            scheduler.execute(p::sendKeepalive);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        up = false;
        for (Peer p : peers.values()) p.stop();
        scheduler.shutdownNow();
        // Every thread is told first and all wait out their polls together: one after another, a close took a second.
        // The readers leave by their loops' ordinary ends and the socket closes after them: a closed fd's number may
        // already be another file's, and a reader that met the closed socket took a branch no packet takes, which
        // deoptimised the shared compiled receive path when the start-up warm-up closed its devices during a first
        // transfer.
        send.shutdown();
        receive.shutdown();
        for (Thread t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        UdpTransport u = udp;
        if (u != null) u.close();
        send.close();
        receive.close();
        tun.close();
        terminated.complete(null);
    }
}
