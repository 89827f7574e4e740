package dev.lattice.wireguard.device;

import dev.lattice.wireguard.conn.PathSelector;

import static dev.lattice.wireguard.device.Protocol.KEEPALIVE_TIMEOUT;
import static dev.lattice.wireguard.device.Protocol.MAX_TIMER_HANDSHAKES;
import static dev.lattice.wireguard.device.Protocol.REJECT_AFTER_MESSAGES;
import static dev.lattice.wireguard.device.Protocol.REJECT_AFTER_TIME;
import static dev.lattice.wireguard.device.Protocol.REKEY_TIMEOUT;
import static dev.lattice.wireguard.device.Protocol.jitter;

import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import dev.lattice.crypto.noise.HandshakeState;
import dev.lattice.wireguard.conn.Endpoint;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One configured peer: its keys, endpoint, sessions (previous / current / next keypair), packets waiting
 * for a handshake, statistics, and the five protocol timers of wireguard-go's {@code timers.go}.
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

    final PeerTimer retransmitHandshake;
    final PeerTimer sendKeepalive;
    final PeerTimer newHandshake;
    final PeerTimer zeroKeyMaterial;
    final PeerTimer persistentKeepalive;
    final AtomicInteger handshakeAttempts = new AtomicInteger();
    volatile boolean needAnotherKeepalive;
    volatile boolean sentLastMinuteHandshake;

    Peer(Device device, NodePublicKey publicKey) {
        this.device = device;
        this.publicKey = publicKey;
        this.cookies = new Cookies.Generator(publicKey, device.clock);
        this.lastSentHandshake = device.clock.nanoTime() - REKEY_TIMEOUT - 1_000_000_000L;
        var s = device.timers;
        var c = device.clock;
        retransmitHandshake = new PeerTimer(s, c, this::expiredRetransmitHandshake);
        sendKeepalive = new PeerTimer(s, c, this::expiredSendKeepalive);
        newHandshake = new PeerTimer(s, c, this::expiredNewHandshake);
        zeroKeyMaterial = new PeerTimer(s, c, this::expiredZeroKeyMaterial);
        persistentKeepalive = new PeerTimer(s, c, this::expiredPersistentKeepalive);
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
                    device.deleteKeypair(cur);
                } else {
                    previous = cur;
                }
                device.deleteKeypair(prev);
                current = kp;
            } else {
                next = kp;
                device.deleteKeypair(nxt);
                previous = null;
                device.deleteKeypair(prev);
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
            device.deleteKeypair(old);
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
            device.removeIndex(pendingIndex);
            pendingInitiation = null;
        }
    }

    void zeroAndFlushAll() {
        synchronized (keypairLock) {
            device.deleteKeypair(previous);
            device.deleteKeypair(current);
            device.deleteKeypair(next);
            previous = current = next = null;
        }
        synchronized (handshakeLock) {
            clearPendingHandshake();
        }
        staged.clear();
    }

    void stop() {
        running = false;
        retransmitHandshake.del();
        sendKeepalive.del();
        newHandshake.del();
        zeroKeyMaterial.del();
        persistentKeepalive.del();
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
                device.sendHandshakeInitiation(this, false);
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
                byte[] out = p.length >= Device.HEADROOM + len + 32 ? p : java.util.Arrays.copyOf(p, Device.HEADROOM + len + 32);
                device.encryptAndSend(this, kp, ctr, out, len);
            }
        }
    }

    private static int packetLength(byte[] p) {
        int len = dev.lattice.wire.ip.IpPacket.totalLength(p, Device.HEADROOM, p.length - Device.HEADROOM);
        return len < 0 ? 0 : Math.min(len, p.length - Device.HEADROOM);
    }

    // --- timers (wireguard-go timers.go) -------------------------------------------------------------

    void timersDataSent() {
        if (timersActive() && !newHandshake.isPending()) {
            newHandshake.mod(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter());
        }
    }

    void timersDataReceived() {
        if (timersActive()) {
            if (!sendKeepalive.isPending()) sendKeepalive.mod(KEEPALIVE_TIMEOUT);
            else needAnotherKeepalive = true;
        }
    }

    void timersAnyAuthenticatedPacketSent() {
        if (timersActive() && sendKeepalive.isPending()) sendKeepalive.del();
    }

    void timersAnyAuthenticatedPacketReceived() {
        if (timersActive() && newHandshake.isPending()) newHandshake.del();
    }

    void timersHandshakeInitiated() {
        if (timersActive()) retransmitHandshake.mod(REKEY_TIMEOUT + jitter());
    }

    void timersHandshakeComplete() {
        if (timersActive()) retransmitHandshake.del();
        handshakeAttempts.set(0);
        sentLastMinuteHandshake = false;
        lastHandshakeEpochNanos = device.clock.epochNanos();
    }

    void timersSessionDerived() {
        if (timersActive()) zeroKeyMaterial.mod(REJECT_AFTER_TIME * 3);
    }

    void timersAnyAuthenticatedPacketTraversal() {
        int ka = persistentKeepaliveSeconds;
        if (ka > 0 && timersActive()) persistentKeepalive.mod(ka * 1_000_000_000L);
    }

    private void expiredRetransmitHandshake() {
        if (handshakeAttempts.get() > MAX_TIMER_HANDSHAKES) {
            if (timersActive()) sendKeepalive.del();
            staged.clear();
            if (timersActive() && !zeroKeyMaterial.isPending()) zeroKeyMaterial.mod(REJECT_AFTER_TIME * 3);
        } else {
            handshakeAttempts.incrementAndGet();
            device.sendHandshakeInitiation(this, true);
        }
    }

    private void expiredSendKeepalive() {
        sendKeepalive();
        if (needAnotherKeepalive) {
            needAnotherKeepalive = false;
            if (timersActive()) sendKeepalive.mod(KEEPALIVE_TIMEOUT);
        }
    }

    private void expiredNewHandshake() {
        device.sendHandshakeInitiation(this, false);
    }

    private void expiredZeroKeyMaterial() {
        zeroAndFlushAll();
    }

    private void expiredPersistentKeepalive() {
        if (persistentKeepaliveSeconds > 0) sendKeepalive();
    }

    @Override
    public String toString() {
        String b64 = publicKey.toBase64();
        return "peer(" + b64.substring(0, 4) + "…" + b64.substring(39, 43) + ")";
    }
}
