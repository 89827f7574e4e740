package dev.lattice.wireguard.device;

import static dev.lattice.wireguard.device.Protocol.REJECT_AFTER_MESSAGES;
import static dev.lattice.wireguard.device.Protocol.REJECT_AFTER_TIME;
import static dev.lattice.wireguard.device.Protocol.REKEY_TIMEOUT;

import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import dev.lattice.crypto.noise.HandshakeState;
import dev.lattice.wire.ip.IpPacket;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.conn.PathSelector;
import dev.lattice.wireguard.conn.UdpTransport;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One configured peer (wireguard-go's {@code peer.go}): its keys, endpoint, sessions (previous / current / next
 * keypair), packets waiting for a handshake, statistics, and its {@link Timers}.
 */
public final class Peer {
    static final int MAX_STAGED = 128;

    final Device device;
    final NodePublicKey publicKey;
    final Cookies.Generator cookies;

    volatile PresharedKey presharedKey = PresharedKey.NONE;
    volatile Endpoint endpoint;
    volatile int persistentKeepaliveSeconds;
    volatile boolean running = true;

    // Sessions. Writers hold keypairLock; the packet path reads the volatiles without locking.
    final Object keypairLock = new Object();
    volatile Keypair previous;
    volatile Keypair current;
    volatile Keypair next;

    // Handshake state, guarded by handshakeLock.
    final Object handshakeLock = new Object();
    HandshakeState pendingInitiation;
    int pendingIndex;
    byte[] lastTimestamp = new byte[Tai64n.SIZE];
    long lastInitiationConsumption = Long.MIN_VALUE / 2;
    volatile long lastSentHandshake;

    /** Plaintext packets (16 bytes of headroom, then the IP packet) waiting for a session. */
    final ArrayBlockingQueue<byte[]> staged = new ArrayBlockingQueue<>(MAX_STAGED);

    final AtomicLong rxBytes = new AtomicLong();
    final AtomicLong txBytes = new AtomicLong();
    volatile long lastHandshakeEpochNanos;

    final Timers timers;

    Peer(Device device, NodePublicKey publicKey) {
        this.device = device;
        this.publicKey = publicKey;
        this.cookies = new Cookies.Generator(publicKey, device.clock);
        this.lastSentHandshake = device.clock.nanoTime() - REKEY_TIMEOUT - 1_000_000_000L;
        this.timers = new Timers(this, device);
    }

    public NodePublicKey publicKey() {
        return publicKey;
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    public long rxBytes() {
        return rxBytes.get();
    }

    public long txBytes() {
        return txBytes.get();
    }

    /** Wall-clock time of the last completed handshake in epoch nanoseconds, 0 if none. */
    public long lastHandshakeEpochNanos() {
        return lastHandshakeEpochNanos;
    }

    public PresharedKey presharedKey() {
        return presharedKey;
    }

    public int persistentKeepaliveSeconds() {
        return persistentKeepaliveSeconds;
    }

    /** Roaming: the endpoint follows the source of the latest authenticated packet. */
    void updateEndpointFrom(byte[] srcSockaddr) {
        Endpoint ep = endpoint;
        if (ep != null && ep.isVirtual()) { // the path selector owns this peer's paths
            PathSelector s = device.pathSelector();
            if (s != null) s.authenticatedReceive(publicKey, srcSockaddr);
            return;
        }
        if (ep == null || !ep.matches(srcSockaddr)) endpoint = Endpoint.fromSockaddr(srcSockaddr);
    }

    boolean timersActive() {
        return running && device.isUp();
    }

    /** A keypair still good for sending at {@code now}. */
    static boolean usableForSend(Keypair kp, long now) {
        return kp != null && Long.compareUnsigned(kp.sendCounter.get(), REJECT_AFTER_MESSAGES) < 0
                && kp.ageNanos(now) < REJECT_AFTER_TIME;
    }

    // --- sessions -----------------------------------------------------------------------------------

    /** Installs a new session as wireguard-go's BeginSymmetricSession does. */
    void beginSymmetricSession(Keypair kp) {
        synchronized (keypairLock) {
            Keypair prev = previous, cur = current, nxt = next;
            if (kp.initiator) {
                if (nxt != null) {
                    next = null;
                    previous = nxt;
                    device.indices.deleteKeypair(cur);
                } else {
                    previous = cur;
                }
                device.indices.deleteKeypair(prev);
                current = kp;
            } else {
                next = kp;
                device.indices.deleteKeypair(nxt);
                previous = null;
                device.indices.deleteKeypair(prev);
            }
        }
    }

    /** The responder's key confirmation: the first packet under {@code next} makes it current. */
    boolean receivedWithKeypair(Keypair kp) {
        if (next != kp) return false;
        synchronized (keypairLock) {
            if (next != kp) return false;
            Keypair old = previous;
            previous = current;
            device.indices.deleteKeypair(old);
            current = kp;
            next = null;
            return true;
        }
    }

    /** Makes current sessions unusable for sending, so the next packet starts a handshake. */
    void expireCurrentKeypairs() {
        synchronized (handshakeLock) {
            clearPendingHandshake();
            lastSentHandshake = device.clock.nanoTime() - REKEY_TIMEOUT - 1_000_000_000L;
        }
        synchronized (keypairLock) {
            if (current != null) current.sendCounter.set(REJECT_AFTER_MESSAGES);
            if (next != null) next.sendCounter.set(REJECT_AFTER_MESSAGES);
        }
    }

    void clearPendingHandshake() {
        if (pendingInitiation != null) {
            device.indices.remove(pendingIndex);
            pendingInitiation = null;
        }
    }

    void zeroAndFlushAll() {
        synchronized (keypairLock) {
            device.indices.deleteKeypair(previous);
            device.indices.deleteKeypair(current);
            device.indices.deleteKeypair(next);
            previous = current = next = null;
        }
        synchronized (handshakeLock) {
            clearPendingHandshake();
        }
        staged.clear();
    }

    void stop() {
        running = false;
        timers.stop();
        zeroAndFlushAll();
    }

    // --- sending ------------------------------------------------------------------------------------

    /** Queues a plaintext packet (buffer laid out with 16 bytes of headroom) and sends what can be sent. */
    void stagePacket(byte[] packetWithHeadroom) {
        while (!staged.offer(packetWithHeadroom)) {
            staged.poll(); // drop the oldest, as wireguard-go does
            device.stats.stagedDropped.increment();
        }
    }

    /** wireguard-go's SendKeepalive: an empty packet through the staged path, unless data is waiting. */
    void sendKeepalive() {
        if (staged.isEmpty() && running) stagePacket(new byte[Device.HEADROOM + 32]);
        sendStagedPackets();
    }

    /** Encrypts and sends staged packets if a session is usable; otherwise asks for a handshake. */
    void sendStagedPackets() {
        while (!staged.isEmpty() && timersActive()) {
            long now = device.clock.nanoTime();
            Keypair kp = current;
            if (!usableForSend(kp, now)) {
                device.handshakes.sendInitiation(this, false);
                return;
            }
            byte[] p;
            while ((p = staged.poll()) != null) {
                int len = packetLength(p); // 0 for a keepalive's all-zero buffer
                long ctr = kp.sendCounter.getAndIncrement();
                if (Long.compareUnsigned(ctr, REJECT_AFTER_MESSAGES) >= 0) {
                    staged.offer(p);
                    break;
                }
                byte[] out = p.length >= Device.HEADROOM + len + 32 ? p : Arrays.copyOf(p, Device.HEADROOM + len + 32);
                device.send.encryptAndSend(this, kp, ctr, out, len);
            }
        }
    }

    /**
     * Sends one datagram to this peer (wireguard-go's SendBuffers): straight to its endpoint, or, for a virtual
     * endpoint, where the path selector says. Counts and returns false when it could not be sent.
     */
    boolean sendBuffer(byte[] buf, int off, int len) {
        Endpoint ep = endpoint;
        UdpTransport u = device.transport();
        DeviceStats stats = device.stats;
        if (ep == null || u == null) {
            stats.noEndpoint.increment();
            return false;
        }
        if (ep.isVirtual()) {
            PathSelector s = device.pathSelector();
            if (s == null) {
                stats.noEndpoint.increment();
                return false;
            }
            ep = s.directPath(publicKey);
            if (ep == null) {
                if (s.sendIndirect(publicKey, buf, off, len)) return true;
                stats.sendFailed.increment();
                return false;
            }
        }
        if (u.send(buf, off, len, ep)) return true;
        stats.sendFailed.increment();
        return false;
    }

    private static int packetLength(byte[] p) {
        int len = IpPacket.totalLength(p, Device.HEADROOM, p.length - Device.HEADROOM);
        return len < 0 ? 0 : Math.min(len, p.length - Device.HEADROOM);
    }

    @Override
    public String toString() {
        String b64 = publicKey.toBase64();
        return "peer(" + b64.substring(0, 4) + "…" + b64.substring(39, 43) + ")";
    }
}
