package dev.lattice.wireguard.device;

import static dev.lattice.wireguard.device.Protocol.HANDSHAKE_INITIATION_RATE;
import static dev.lattice.wireguard.device.Protocol.KEEPALIVE_TIMEOUT;
import static dev.lattice.wireguard.device.Protocol.PROLOGUE;
import static dev.lattice.wireguard.device.Protocol.REJECT_AFTER_MESSAGES;
import static dev.lattice.wireguard.device.Protocol.REJECT_AFTER_TIME;
import static dev.lattice.wireguard.device.Protocol.REKEY_AFTER_MESSAGES;
import static dev.lattice.wireguard.device.Protocol.REKEY_AFTER_TIME;
import static dev.lattice.wireguard.device.Protocol.REKEY_TIMEOUT;
import static dev.lattice.wireguard.device.Protocol.UNDER_LOAD_AFTER_TIME;

import dev.lattice.crypto.CryptoException;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import dev.lattice.crypto.noise.HandshakeState;
import dev.lattice.crypto.noise.NonceEncoding;
import dev.lattice.crypto.noise.NoisePattern;
import dev.lattice.wire.ip.IpPacket;
import dev.lattice.wire.ip.TcpCoalescer;
import dev.lattice.wire.ip.TcpSegmenter;
import dev.lattice.wire.ip.VirtioNetHdr;
import dev.lattice.wire.wireguard.CookieReply;
import dev.lattice.wire.wireguard.Initiation;
import dev.lattice.wire.wireguard.Response;
import dev.lattice.wire.wireguard.WgMessage;
import dev.lattice.wireguard.allowedips.AllowedIps;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.conn.PathSelector;
import dev.lattice.wireguard.conn.UdpSocket;
import dev.lattice.wireguard.conn.UdpTransport;
import dev.lattice.wireguard.tun.TunDevice;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A userspace WireGuard device: one TUN, one UDP socket, any number of peers. Behaviour follows the
 * whitepaper and wireguard-go (handshakes, cookies under load, sessions, timers, roaming, AllowedIPs).
 *
 * <p>Threads: a TUN reader encrypts and sends outbound packets inline; a UDP reader decrypts inbound
 * transport packets inline and hands handshake messages to a handshake thread through a bounded queue (its
 * fill level is the "under load" signal); one scheduler thread runs the protocol timers. Packet buffers are
 * allocated once per thread; the only per-packet work is the cipher.
 */
public final class Device implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Device.class);
    public static final int DEFAULT_MTU = 1420;
    /** Room before a plaintext packet for the transport header, so encryption happens in place. */
    static final int HEADROOM = WgMessage.TRANSPORT_HEADER_SIZE;
    private static final int MAX_PACKET = 65535;
    private static final int HANDSHAKE_QUEUE = 1024;
    private static final int POLL_MILLIS = 500;
    private static final SecureRandom RANDOM = new SecureRandom();

    record Identity(NodePrivateKey privateKey, NodePublicKey publicKey, Cookies.Checker checker) {}

    /** An index-table entry: a handshake in flight (keypair null) or a session. */
    record IndexEntry(Peer peer, Keypair keypair) {}

    private record HandshakeJob(byte[] msg, byte[] src) {}

    final Clock clock;
    final ScheduledExecutorService timers;
    public final DeviceStats stats = new DeviceStats();
    private final TunDevice tun;
    private final UdpTransport.Factory udpFactory;
    private final ConcurrentHashMap<NodePublicKey, Peer> peers = new ConcurrentHashMap<>();
    private final AllowedIps<Peer> allowedIps = new AllowedIps<>();
    private final ConcurrentHashMap<Integer, IndexEntry> index = new ConcurrentHashMap<>();
    private final ArrayBlockingQueue<HandshakeJob> handshakeQueue = new ArrayBlockingQueue<>(HANDSHAKE_QUEUE);
    private final RateLimiter rateLimiter;
    private final Object configLock = new Object();
    private final List<Thread> threads = new ArrayList<>();
    private final java.util.concurrent.CompletableFuture<Void> terminated = new java.util.concurrent.CompletableFuture<>();

    private volatile Identity identity;
    private volatile PathSelector pathSelector;
    private volatile UdpTransport udp;
    private volatile int listenPort;
    private volatile int fwmark;
    private volatile int mtu = DEFAULT_MTU;
    private volatile boolean up;
    private volatile boolean closed;
    private volatile long underLoadUntil;
    /** Queue length from which the device considers itself under load (wireguard-go: 1024 / 8). */
    volatile int underLoadThreshold = HANDSHAKE_QUEUE / 8;

    public Device(TunDevice tun, UdpTransport.Factory udpFactory, Clock clock) {
        this.tun = tun;
        this.udpFactory = udpFactory;
        this.clock = clock;
        this.rateLimiter = new RateLimiter(clock);
        ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "wg-timers");
            t.setDaemon(true);
            return t;
        });
        s.setRemoveOnCancelPolicy(true);
        this.timers = s;
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
        startThread("wg-tun-reader", tun.vnetHdr() ? this::tunReadLoopOffload : this::tunReadLoop);
        startThread("wg-udp-reader", this::udpReadLoop);
        startThread("wg-handshake", this::handshakeLoop);
        timers.scheduleWithFixedDelay(this::refreshMtu, 5, 5, TimeUnit.SECONDS);
        log.info("device {} up, listening on UDP port {}", tun.name(), listenPort);
    }

    private void startThread(String name, Runnable body) {
        Thread t = Thread.ofPlatform().name(name + "-" + tun.name()).daemon(true).start(() -> {
            try {
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
            receiveDatagram(buf, len, Endpoint.virtual().sockaddr().clone(), null);
        } catch (RuntimeException e) {
            stats.malformed.increment();
            log.debug("dropped indirect datagram after error", e);
        }
    }

    /** Spare bytes {@link #receiveIndirect} needs after a datagram. */
    public static final int INDIRECT_SLACK = 64;

    /**
     * Sends one datagram to a peer: straight to its endpoint, or, for a virtual endpoint, where the path selector
     * says. Counts and returns false when it could not be sent.
     */
    private boolean sendDatagram(Peer p, byte[] buf, int off, int len) {
        Endpoint ep = p.endpoint;
        UdpTransport u = udp;
        if (ep == null || u == null) {
            stats.noEndpoint.increment();
            return false;
        }
        if (ep.isVirtual()) {
            PathSelector s = pathSelector;
            if (s == null) {
                stats.noEndpoint.increment();
                return false;
            }
            ep = s.directPath(p.publicKey);
            if (ep == null) {
                if (s.sendIndirect(p.publicKey, buf, off, len)) return true;
                stats.sendFailed.increment();
                return false;
            }
        }
        if (u.send(buf, off, len, ep)) return true;
        stats.sendFailed.increment();
        return false;
    }

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

    public void setEndpoint(Peer p, java.net.InetSocketAddress a) {
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
            timers.execute(p::sendKeepalive);
        }
    }

    // --- index table --------------------------------------------------------------------------------

    private int newIndex(Peer p) {
        while (true) {
            int i = RANDOM.nextInt();
            if (index.putIfAbsent(i, new IndexEntry(p, null)) == null) return i;
        }
    }

    void removeIndex(int i) {
        index.remove(i);
    }

    void deleteKeypair(Keypair kp) {
        if (kp != null) index.computeIfPresent(kp.localIndex, (k, v) -> v.keypair() == kp ? null : v);
    }

    // --- outbound: TUN -> peer ------------------------------------------------------------------------

    private void tunReadLoop() {
        byte[] buf = new byte[HEADROOM + MAX_PACKET + 64];
        while (!closed) {
            int n;
            try {
                n = tun.read(buf, HEADROOM, MAX_PACKET, POLL_MILLIS);
            } catch (IOException e) {
                if (!closed) log.warn("TUN read failed, device stopping: {}", e.getMessage());
                terminated.complete(null);
                return;
            }
            if (n > 0) sendFromTun(buf, n);
        }
    }

    /** Completes when the device stops: closed, or its TUN went away (the interface was deleted). */
    public java.util.concurrent.CompletableFuture<Void> terminated() {
        return terminated;
    }

    private void sendFromTun(byte[] buf, int len) {
        int v = IpPacket.version(buf, HEADROOM, len);
        if (v == 0) {
            stats.malformed.increment();
            return;
        }
        Peer p = allowedIps.lookup(buf, HEADROOM + IpPacket.dstOffset(v), v == 6);
        if (p == null) {
            stats.noRoute.increment();
            return;
        }
        if (p.endpoint == null) {
            stats.noEndpoint.increment();
            return;
        }
        long now = clock.nanoTime();
        Keypair kp = p.current;
        // Packets wait for a session (and keep their order behind those already waiting).
        long ctr = p.staged.isEmpty() && Peer.usableForSend(kp, now) ? kp.sendCounter.getAndIncrement() : -1;
        if (ctr == -1 || Long.compareUnsigned(ctr, REJECT_AFTER_MESSAGES) >= 0) {
            p.stagePacket(Arrays.copyOf(buf, HEADROOM + len + 32));
            timers.execute(p::sendStagedPackets);
            return;
        }
        encryptAndSend(p, kp, ctr, buf, len);
        keepKeyFreshSending(p, kp, ctr, now);
    }

    /** The initiator starts a new handshake once a session is old or has sent many messages. */
    private void keepKeyFreshSending(Peer p, Keypair kp, long lastCtr, long now) {
        if (kp.initiator && (Long.compareUnsigned(lastCtr, REKEY_AFTER_MESSAGES) > 0 || kp.ageNanos(now) > REKEY_AFTER_TIME)
                && now - p.lastSentHandshake >= REKEY_TIMEOUT) {
            timers.execute(() -> sendHandshakeInitiation(p, false));
        }
    }

    /**
     * Pads, encrypts in place and sends {@code len} plaintext bytes at {@code buf[HEADROOM..]}. The buffer must
     * have 32 spare bytes after the packet for padding and the tag.
     */
    void encryptAndSend(Peer p, Keypair kp, long ctr, byte[] buf, int len) {
        int ct = encrypt(kp, ctr, buf, len) - HEADROOM;
        if (p.endpoint == null || udp == null) {
            stats.noEndpoint.increment();
            return;
        }
        sendDatagram(p, buf, 0, HEADROOM + ct);
        p.txBytes.addAndGet(HEADROOM + ct);
        p.timersAnyAuthenticatedPacketTraversal();
        p.timersAnyAuthenticatedPacketSent();
        if (len > 0) p.timersDataSent();
    }

    /** Pads and encrypts in place into a transport message at {@code buf[0..]}; returns its length. */
    private int encrypt(Keypair kp, long ctr, byte[] buf, int len) {
        int padded = paddedLength(len, mtu);
        Arrays.fill(buf, HEADROOM + len, HEADROOM + padded, (byte) 0);
        WgMessage.putTransportHeader(buf, 0, kp.remoteIndex, ctr);
        return HEADROOM + TransportCipher.get().seal(kp.sendKey, ctr, buf, HEADROOM, padded);
    }

    // --- outbound with TUN offloads: TSO super-packets, UDP GSO ------------------------------------------

    private static final int MAX_SEGMENTS = 128;

    private void tunReadLoopOffload() {
        int vnet = VirtioNetHdr.SIZE;
        byte[] buf = new byte[HEADROOM + MAX_PACKET + 64];
        byte[][] segs = new byte[MAX_SEGMENTS][];
        int[] lens = new int[MAX_SEGMENTS];
        int segCap = 0;
        try (UdpSocket.Batch batch = new UdpSocket.Batch()) {
            while (!closed) {
                int n;
                try {
                    n = tun.read(buf, HEADROOM - vnet, MAX_PACKET + vnet, POLL_MILLIS);
                } catch (IOException e) {
                    if (!closed) log.warn("TUN read failed, device stopping: {}", e.getMessage());
                    terminated.complete(null);
                    return;
                }
                if (n <= vnet) continue;
                int len = n - vnet;
                VirtioNetHdr h = VirtioNetHdr.parse(buf, HEADROOM - vnet);
                try {
                    if (h.gsoType() == VirtioNetHdr.GSO_NONE) {
                        if ((h.flags() & VirtioNetHdr.F_NEEDS_CSUM) != 0) TcpSegmenter.completeChecksum(h, buf, HEADROOM, len);
                        sendFromTun(buf, len);
                        continue;
                    }
                    int need = HEADROOM + h.hdrLen() + h.gsoSize() + 96;
                    if (need > segCap) {
                        segCap = Math.max(need, 2048);
                        for (int i = 0; i < MAX_SEGMENTS; i++) segs[i] = new byte[segCap];
                    }
                    int count = TcpSegmenter.split(h, buf, HEADROOM, len, segs, HEADROOM, lens);
                    sendSegments(segs, lens, count, batch);
                } catch (TcpSegmenter.MalformedException e) {
                    stats.malformed.increment();
                }
            }
        }
    }

    /** Sends TSO segments of one flow: one peer lookup, then encrypted back to back in one GSO send. */
    private void sendSegments(byte[][] segs, int[] lens, int count, UdpSocket.Batch batch) {
        byte[] first = segs[0];
        int v = IpPacket.version(first, HEADROOM, lens[0]);
        Peer p = allowedIps.lookup(first, HEADROOM + IpPacket.dstOffset(v), v == 6);
        if (p == null) {
            stats.noRoute.add(count);
            return;
        }
        Endpoint ep = p.endpoint;
        if (ep == null) {
            stats.noEndpoint.add(count);
            return;
        }
        if (ep.isVirtual()) {
            PathSelector s = pathSelector;
            ep = s == null ? null : s.directPath(p.publicKey);
        }
        long now = clock.nanoTime();
        Keypair kp = p.current;
        UdpTransport u = udp;
        if (ep == null || !p.staged.isEmpty() || !Peer.usableForSend(kp, now) || !(u instanceof UdpSocket sock)) {
            for (int i = 0; i < count; i++) sendFromTun(segs[i], lens[i]);
            return;
        }
        int filled = 0;
        int stride = 0;
        long sent = 0;
        long lastCtr = 0;
        for (int i = 0; i < count; i++) {
            long ctr = kp.sendCounter.getAndIncrement();
            if (Long.compareUnsigned(ctr, REJECT_AFTER_MESSAGES) >= 0) {
                p.stagePacket(Arrays.copyOf(segs[i], HEADROOM + lens[i] + 32));
                continue;
            }
            lastCtr = ctr;
            int wire = encrypt(kp, ctr, segs[i], lens[i]);
            if (filled > 0 && (wire > stride || filled + wire > UdpSocket.MAX_GSO_BYTES)) {
                if (!sock.sendSegments(batch, filled, stride, ep)) stats.sendFailed.increment();
                filled = 0;
            }
            if (filled == 0) stride = wire;
            MemorySegment.copy(segs[i], 0, batch.data, java.lang.foreign.ValueLayout.JAVA_BYTE, filled, wire);
            filled += wire;
            sent += wire;
            if (wire < stride) { // a short datagram must be the last of a GSO send
                if (!sock.sendSegments(batch, filled, stride, ep)) stats.sendFailed.increment();
                filled = 0;
            }
        }
        if (filled > 0 && !sock.sendSegments(batch, filled, stride, ep)) stats.sendFailed.increment();
        p.txBytes.addAndGet(sent);
        p.timersAnyAuthenticatedPacketTraversal();
        p.timersAnyAuthenticatedPacketSent();
        p.timersDataSent();
        if (!p.staged.isEmpty()) timers.execute(p::sendStagedPackets);
        keepKeyFreshSending(p, kp, lastCtr, now);
    }

    /** wireguard-go's calculatePaddingSize, as the padded length. */
    static int paddedLength(int len, int mtu) {
        int m = WgMessage.PADDING_MULTIPLE;
        if (mtu == 0) return (len + m - 1) & ~(m - 1);
        int lastUnit = len;
        if (lastUnit > mtu) lastUnit %= mtu;
        int padded = (lastUnit + m - 1) & ~(m - 1);
        if (padded > mtu) padded = mtu;
        return len + (padded - lastUnit);
    }

    // --- inbound: UDP -> TUN --------------------------------------------------------------------------

    private void udpReadLoop() {
        byte[] buf = new byte[MAX_PACKET + 64];
        byte[] src = new byte[Endpoint.SOCKADDR_LEN];
        int[] srcLen = new int[1];
        int[] segSize = new int[1];
        UdpSocket.Batch batch = null;
        TcpCoalescer gro = tun.vnetHdr() ? new TcpCoalescer() : null;
        while (!closed) {
            UdpTransport u = udp;
            if (u instanceof UdpSocket s && s.groEnabled()) {
                if (batch == null) batch = new UdpSocket.Batch();
                int n;
                try {
                    n = s.receiveBatch(batch, src, segSize, POLL_MILLIS);
                } catch (IOException e) {
                    if (closed) break;
                    if (u != udp) continue;
                    log.warn("UDP receive failed: {}", e.getMessage());
                    break;
                }
                if (n < 0) continue;
                int seg = segSize[0] > 0 ? segSize[0] : n;
                for (int off = 0; off < n; off += seg) {
                    int l = Math.min(seg, n - off);
                    MemorySegment.copy(batch.data, java.lang.foreign.ValueLayout.JAVA_BYTE, off, buf, 0, l);
                    try {
                        receiveDatagram(buf, l, src, gro);
                    } catch (RuntimeException e) {
                        stats.malformed.increment();
                        log.debug("dropped datagram after error", e);
                    }
                }
                if (gro != null) {
                    try {
                        flushCoalesced(gro);
                    } catch (IOException e) {
                        if (!closed) log.debug("TUN write failed: {}", e.getMessage());
                    }
                }
                continue;
            }
            int n;
            try {
                n = u.receive(buf, 0, MAX_PACKET, src, srcLen, POLL_MILLIS);
            } catch (IOException e) {
                if (closed) return;
                if (u != udp) continue; // rebound to a new port
                log.warn("UDP receive failed: {}", e.getMessage());
                return;
            }
            if (n < 0) continue;
            try {
                receiveDatagram(buf, n, src);
            } catch (RuntimeException e) {
                // A bug must not take the device down on one bad datagram.
                stats.malformed.increment();
                log.debug("dropped datagram after error", e);
            }
        }
        if (batch != null) batch.close();
    }

    void receiveDatagram(byte[] buf, int n, byte[] src) {
        receiveDatagram(buf, n, src, null);
    }

    private void receiveDatagram(byte[] buf, int n, byte[] src, TcpCoalescer gro) {
        int type = WgMessage.classify(buf, 0, n);
        switch (type) {
            case WgMessage.TYPE_TRANSPORT -> {
                int len = receiveTransport(buf, n, src);
                if (len > 0) deliver(buf, len, gro);
            }
            case WgMessage.TYPE_INITIATION, WgMessage.TYPE_RESPONSE -> {
                int q = handshakeQueue.size();
                if (q >= underLoadThreshold) underLoadUntil = clock.nanoTime() + UNDER_LOAD_AFTER_TIME;
                if (!handshakeQueue.offer(new HandshakeJob(Arrays.copyOf(buf, n), src.clone()))) {
                    stats.handshakeQueueFull.increment();
                }
            }
            case WgMessage.TYPE_COOKIE_REPLY -> receiveCookieReply(buf, n);
            default -> {
                PathSelector s = pathSelector;
                if (s == null || !s.receiveOther(buf, 0, n, src)) stats.malformed.increment();
            }
        }
    }

    /** Authenticates and decrypts a transport message in place; returns the IP packet length to deliver, or 0. */
    private int receiveTransport(byte[] buf, int n, byte[] src) {
        IndexEntry e = index.get(WgMessage.getU32(buf, WgMessage.TRANSPORT_OFFSET_RECEIVER));
        if (e == null || e.keypair() == null) {
            stats.unknownIndex.increment();
            return 0;
        }
        Keypair kp = e.keypair();
        Peer p = kp.peer;
        long now = clock.nanoTime();
        if (kp.ageNanos(now) >= REJECT_AFTER_TIME) {
            stats.expiredKeypair.increment();
            return 0;
        }
        long ctr = WgMessage.getU64(buf, WgMessage.TRANSPORT_OFFSET_COUNTER);
        if (Long.compareUnsigned(ctr, REJECT_AFTER_MESSAGES) >= 0) {
            stats.replayed.increment();
            return 0;
        }
        int pt = TransportCipher.get().open(kp.recvKey, ctr, buf, HEADROOM, n - HEADROOM);
        if (pt < 0) {
            stats.decryptFailed.increment();
            return 0;
        }
        boolean fresh;
        synchronized (kp.replay) { // the UDP reader and DERP deliver concurrently
            fresh = kp.replay.validate(ctr, REJECT_AFTER_MESSAGES);
        }
        if (!fresh) {
            stats.replayed.increment();
            return 0;
        }
        p.updateEndpointFrom(src);
        if (p.receivedWithKeypair(kp)) {
            p.timersHandshakeComplete();
            timers.execute(p::sendStagedPackets);
        }
        // keepKeyFreshReceiving
        if (kp.initiator && p.current == kp && !p.sentLastMinuteHandshake
                && kp.ageNanos(now) > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
            p.sentLastMinuteHandshake = true;
            timers.execute(() -> sendHandshakeInitiation(p, false));
        }
        p.timersAnyAuthenticatedPacketTraversal();
        p.timersAnyAuthenticatedPacketReceived();
        p.rxBytes.addAndGet(n);
        if (pt == 0) return 0; // keepalive
        p.timersDataReceived();
        int v = IpPacket.version(buf, HEADROOM, pt);
        int total = IpPacket.totalLength(buf, HEADROOM, pt);
        if (v == 0 || total > pt || total < (v == 4 ? IpPacket.IPV4_HEADER_MIN : IpPacket.IPV6_HEADER)) {
            stats.malformed.increment();
            return 0;
        }
        if (allowedIps.lookup(buf, HEADROOM + IpPacket.srcOffset(v), v == 6) != p) {
            stats.disallowedSource.increment();
            return 0;
        }
        return total;
    }

    /**
     * Writes a decrypted packet at {@code buf[HEADROOM..HEADROOM+len)} to the TUN. With a coalescer (TUN
     * offload mode), TCP segments of one flow are held back and merged; {@link #flushCoalesced} writes them.
     */
    private void deliver(byte[] buf, int len, TcpCoalescer gro) {
        try {
            if (gro != null && TcpCoalescer.isCandidate(buf, HEADROOM, len)) {
                if (gro.tryAppend(buf, HEADROOM, len)) return;
                flushCoalesced(gro);
                gro.tryAppend(buf, HEADROOM, len);
                return;
            }
            if (gro != null) flushCoalesced(gro);
            if (tun.vnetHdr()) {
                Arrays.fill(buf, HEADROOM - VirtioNetHdr.SIZE, HEADROOM, (byte) 0); // no offload for this packet
                tun.write(buf, HEADROOM - VirtioNetHdr.SIZE, len + VirtioNetHdr.SIZE);
            } else {
                tun.write(buf, HEADROOM, len);
            }
        } catch (IOException ex) {
            if (!closed) log.debug("TUN write failed: {}", ex.getMessage());
        }
    }

    private void flushCoalesced(TcpCoalescer gro) throws IOException {
        if (gro.isEmpty()) return;
        byte[] out = gro.flush();
        tun.write(out, 0, gro.flushedLength);
    }

    private void receiveCookieReply(byte[] buf, int n) {
        CookieReply r = CookieReply.parse(buf, 0, n);
        IndexEntry e = index.get(r.receiver());
        if (e == null) {
            stats.unknownIndex.increment();
            return;
        }
        if (!e.peer().cookies.consumeReply(r)) stats.handshakeRejected.increment();
    }

    // --- handshakes -----------------------------------------------------------------------------------

    private void handshakeLoop() {
        while (!closed) {
            HandshakeJob job;
            try {
                job = handshakeQueue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (job == null) continue;
            try {
                if (job.msg()[0] == WgMessage.TYPE_INITIATION) consumeInitiation(job.msg(), job.src());
                else consumeResponse(job.msg(), job.src());
            } catch (RuntimeException e) {
                stats.handshakeRejected.increment();
                log.debug("handshake message dropped after error", e);
            }
        }
    }

    private boolean underLoad() {
        return clock.nanoTime() - underLoadUntil < 0;
    }

    /** mac1 always; under load also mac2 (else answer with a cookie) and the per-source rate limit. */
    private boolean passesDosChecks(Identity id, byte[] msg, byte[] src, int senderIndex) {
        if (!id.checker().checkMac1(msg, 0, msg.length)) {
            stats.handshakeRejected.increment();
            return false;
        }
        if (!underLoad()) return true;
        byte[] source = Cookies.sourceBytes(src);
        if (!id.checker().checkMac2(msg, 0, msg.length, source)) {
            byte[] reply = id.checker().createReply(msg, 0, msg.length, senderIndex, source);
            UdpTransport u = udp;
            Endpoint to = Endpoint.fromSockaddr(src);
            if (u != null && !to.isVirtual()) u.send(reply, 0, reply.length, to);
            stats.cookieRepliesSent.increment();
            return false;
        }
        if (!rateLimiter.allow(Arrays.copyOfRange(src, 8, 24))) {
            stats.rateLimited.increment();
            return false;
        }
        return true;
    }

    private void consumeInitiation(byte[] msg, byte[] src) {
        Identity id = identity;
        if (id == null) return;
        Initiation init = Initiation.parse(msg, 0, msg.length);
        if (!passesDosChecks(id, msg, src, init.sender())) return;
        HandshakeState hs = HandshakeState.responder(NoisePattern.IKpsk2, NonceEncoding.LITTLE_ENDIAN, PROLOGUE,
                id.privateKey().raw(), null);
        byte[] timestamp;
        try {
            timestamp = hs.readMessage(init.noiseMessage());
        } catch (CryptoException e) {
            stats.handshakeRejected.increment();
            return;
        }
        Peer p = peers.get(new NodePublicKey(hs.remoteStaticPublic()));
        if (p == null || !p.running || timestamp.length != Tai64n.SIZE) {
            stats.handshakeRejected.increment();
            return;
        }
        byte[] response;
        long now = clock.nanoTime();
        synchronized (p.handshakeLock) {
            if (!Tai64n.after(timestamp, p.lastTimestamp)) {
                log.debug("{}: handshake replay", p);
                stats.handshakeRejected.increment();
                return;
            }
            if (now - p.lastInitiationConsumption <= HANDSHAKE_INITIATION_RATE) {
                log.debug("{}: handshake flood", p);
                stats.handshakeRejected.increment();
                return;
            }
            p.lastTimestamp = timestamp;
            p.lastInitiationConsumption = now;
            p.clearPendingHandshake(); // a crossing initiation replaces ours, as in wireguard-go
            hs.setPsk(p.presharedKey.raw());
            byte[] noise;
            try {
                noise = hs.writeMessage(new byte[0]);
            } catch (IllegalStateException e) { // low-order peer ephemeral
                stats.handshakeRejected.increment();
                return;
            }
            int local = newIndex(p);
            response = Response.encode(local, init.sender(), noise);
            p.cookies.addMacs(response);
            var split = hs.split();
            Keypair kp = new Keypair(p, false, now, local, init.sender(),
                    split.responderToInitiator().key(), split.initiatorToResponder().key());
            index.put(local, new IndexEntry(p, kp));
            p.beginSymmetricSession(kp);
            p.lastSentHandshake = now;
        }
        p.updateEndpointFrom(src);
        log.debug("{}: sending handshake response", p);
        p.timersSessionDerived();
        sendDatagram(p, response, 0, response.length);
        p.timersAnyAuthenticatedPacketTraversal();
        p.timersAnyAuthenticatedPacketSent();
    }

    private void consumeResponse(byte[] msg, byte[] src) {
        Identity id = identity;
        if (id == null) return;
        Response r = Response.parse(msg, 0, msg.length);
        if (!passesDosChecks(id, msg, src, r.sender())) return;
        IndexEntry e = index.get(r.receiver());
        if (e == null || e.keypair() != null) {
            stats.unknownIndex.increment();
            return;
        }
        Peer p = e.peer();
        long now = clock.nanoTime();
        synchronized (p.handshakeLock) {
            HandshakeState hs = p.pendingInitiation;
            if (hs == null || p.pendingIndex != r.receiver()) {
                stats.handshakeRejected.increment();
                return;
            }
            try {
                hs.readMessage(r.noiseMessage());
            } catch (CryptoException ex) {
                stats.handshakeRejected.increment();
                return;
            }
            var split = hs.split();
            Keypair kp = new Keypair(p, true, now, p.pendingIndex, r.sender(),
                    split.initiatorToResponder().key(), split.responderToInitiator().key());
            index.put(p.pendingIndex, new IndexEntry(p, kp));
            p.pendingInitiation = null;
            p.beginSymmetricSession(kp);
        }
        p.updateEndpointFrom(src);
        log.debug("{}: received handshake response", p);
        p.timersSessionDerived();
        p.timersHandshakeComplete();
        p.timersAnyAuthenticatedPacketTraversal();
        p.timersAnyAuthenticatedPacketReceived();
        p.sendKeepalive();
    }

    /** Creates and sends a handshake initiation, at most one per REKEY_TIMEOUT unless this is a retry. */
    void sendHandshakeInitiation(Peer p, boolean isRetry) {
        Identity id = identity;
        if (id == null || !p.running) return;
        long now = clock.nanoTime();
        byte[] msg;
        synchronized (p.handshakeLock) {
            if (!isRetry) {
                if (now - p.lastSentHandshake < REKEY_TIMEOUT) return;
                p.handshakeAttempts.set(0);
            }
            if (p.endpoint == null) return;
            p.lastSentHandshake = now;
            byte[] noise;
            HandshakeState hs;
            try {
                hs = HandshakeState.initiator(NoisePattern.IKpsk2, NonceEncoding.LITTLE_ENDIAN, PROLOGUE,
                        id.privateKey().raw(), p.publicKey.raw(), p.presharedKey.raw());
                noise = hs.writeMessage(Tai64n.of(clock.epochNanos()));
            } catch (IllegalArgumentException | IllegalStateException e) { // e.g. a low-order peer key
                log.debug("{}: cannot create handshake initiation: {}", p, e.getMessage());
                return;
            }
            p.clearPendingHandshake();
            int local = newIndex(p);
            p.pendingInitiation = hs;
            p.pendingIndex = local;
            msg = Initiation.encode(local, noise);
            p.cookies.addMacs(msg);
        }
        log.debug("{}: sending handshake initiation", p);
        p.timersAnyAuthenticatedPacketTraversal();
        p.timersAnyAuthenticatedPacketSent();
        sendDatagram(p, msg, 0, msg.length);
        p.timersHandshakeInitiated();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        up = false;
        for (Peer p : peers.values()) p.stop();
        timers.shutdownNow();
        UdpTransport u = udp;
        if (u != null) u.close();
        for (Thread t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        tun.close();
        terminated.complete(null);
    }
}
