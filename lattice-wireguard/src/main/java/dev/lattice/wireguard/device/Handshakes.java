package dev.lattice.wireguard.device;

import static dev.lattice.wireguard.device.Device.POLL_MILLIS;
import static dev.lattice.wireguard.device.Protocol.HANDSHAKE_INITIATION_RATE;
import static dev.lattice.wireguard.device.Protocol.PROLOGUE;
import static dev.lattice.wireguard.device.Protocol.REKEY_TIMEOUT;
import static dev.lattice.wireguard.device.Protocol.UNDER_LOAD_AFTER_TIME;

import dev.lattice.crypto.CryptoException;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.noise.HandshakeState;
import dev.lattice.crypto.noise.NonceEncoding;
import dev.lattice.crypto.noise.NoisePattern;
import dev.lattice.wire.wireguard.Initiation;
import dev.lattice.wire.wireguard.Response;
import dev.lattice.wire.wireguard.WgMessage;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.conn.UdpTransport;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Noise IKpsk2 handshake (wireguard-go's {@code noise-protocol.go} and the handshake routine of
 * {@code receive.go}): initiations and responses arrive through a bounded queue whose fill level is the "under
 * load" signal; under load, mac2 cookies and a per-source rate limit apply. Completed handshakes become
 * sessions on the peer and in the {@link IndexTable}.
 */
final class Handshakes {
    private static final Logger log = LoggerFactory.getLogger(Handshakes.class);
    static final int QUEUE_SIZE = 1024;

    private record Job(byte[] msg, byte[] src) {}

    private final Device device;
    private final DeviceStats stats;
    private final ArrayBlockingQueue<Job> queue = new ArrayBlockingQueue<>(QUEUE_SIZE);
    private final RateLimiter rateLimiter;
    private volatile long underLoadUntil;
    /** Queue length from which the device considers itself under load (wireguard-go: 1024 / 8). */
    volatile int underLoadThreshold = QUEUE_SIZE / 8;

    Handshakes(Device device) {
        this.device = device;
        this.stats = device.stats;
        this.rateLimiter = new RateLimiter(device.clock);
    }

    /** Queues a handshake message (copied) for the handshake thread; a full queue drops it. */
    void enqueue(byte[] buf, int n, byte[] src) {
        int q = queue.size();
        if (q >= underLoadThreshold) underLoadUntil = device.clock.nanoTime() + UNDER_LOAD_AFTER_TIME;
        if (!queue.offer(new Job(Arrays.copyOf(buf, n), src.clone()))) {
            stats.handshakeQueueFull.increment();
        }
    }

    /** The handshake thread's body. */
    void loop() {
        while (!device.isClosed()) {
            Job job;
            try {
                job = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
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
        return device.clock.nanoTime() - underLoadUntil < 0;
    }

    /** mac1 always; under load also mac2 (else answer with a cookie) and the per-source rate limit. */
    private boolean passesDosChecks(Device.Identity id, byte[] msg, byte[] src, int senderIndex) {
        if (!id.checker().checkMac1(msg, 0, msg.length)) {
            stats.handshakeRejected.increment();
            return false;
        }
        if (!underLoad()) return true;
        byte[] source = Cookies.sourceBytes(src);
        if (!id.checker().checkMac2(msg, 0, msg.length, source)) {
            byte[] reply = id.checker().createReply(msg, 0, msg.length, senderIndex, source);
            UdpTransport u = device.transport();
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
        Device.Identity id = device.identity();
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
        Peer p = device.peer(new NodePublicKey(hs.remoteStaticPublic()));
        if (p == null || !p.running || timestamp.length != Tai64n.SIZE) {
            stats.handshakeRejected.increment();
            return;
        }
        byte[] response;
        long now = device.clock.nanoTime();
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
            int local = device.indices.newIndex(p);
            response = Response.encode(local, init.sender(), noise);
            p.cookies.addMacs(response);
            var split = hs.split();
            Keypair kp = new Keypair(p, false, now, local, init.sender(),
                    split.responderToInitiator().key(), split.initiatorToResponder().key());
            device.indices.swapInKeypair(local, kp);
            p.beginSymmetricSession(kp);
            p.lastSentHandshake = now;
        }
        p.updateEndpointFrom(src);
        log.debug("{}: sending handshake response", p);
        p.timers.sessionDerived();
        p.sendBuffer(response, 0, response.length);
        p.timers.anyAuthenticatedPacketTraversal();
        p.timers.anyAuthenticatedPacketSent();
    }

    private void consumeResponse(byte[] msg, byte[] src) {
        Device.Identity id = device.identity();
        if (id == null) return;
        Response r = Response.parse(msg, 0, msg.length);
        if (!passesDosChecks(id, msg, src, r.sender())) return;
        IndexTable.Entry e = device.indices.lookup(r.receiver());
        if (e == null || e.keypair() != null) {
            stats.unknownIndex.increment();
            return;
        }
        Peer p = e.peer();
        long now = device.clock.nanoTime();
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
            device.indices.swapInKeypair(p.pendingIndex, kp);
            p.pendingInitiation = null;
            p.beginSymmetricSession(kp);
        }
        p.updateEndpointFrom(src);
        log.debug("{}: received handshake response", p);
        p.timers.sessionDerived();
        p.timers.handshakeComplete();
        p.timers.anyAuthenticatedPacketTraversal();
        p.timers.anyAuthenticatedPacketReceived();
        p.sendKeepalive();
    }

    /** Creates and sends a handshake initiation, at most one per REKEY_TIMEOUT unless this is a retry. */
    void sendInitiation(Peer p, boolean isRetry) {
        Device.Identity id = device.identity();
        if (id == null || !p.running) return;
        long now = device.clock.nanoTime();
        byte[] msg;
        synchronized (p.handshakeLock) {
            if (!isRetry) {
                if (now - p.lastSentHandshake < REKEY_TIMEOUT) return;
                p.timers.handshakeAttempts.set(0);
            }
            if (p.endpoint == null) return;
            p.lastSentHandshake = now;
            byte[] noise;
            HandshakeState hs;
            try {
                hs = HandshakeState.initiator(NoisePattern.IKpsk2, NonceEncoding.LITTLE_ENDIAN, PROLOGUE,
                        id.privateKey().raw(), p.publicKey.raw(), p.presharedKey.raw());
                noise = hs.writeMessage(Tai64n.of(device.clock.epochNanos()));
            } catch (IllegalArgumentException | IllegalStateException e) { // e.g. a low-order peer key
                log.debug("{}: cannot create handshake initiation: {}", p, e.getMessage());
                return;
            }
            p.clearPendingHandshake();
            int local = device.indices.newIndex(p);
            p.pendingInitiation = hs;
            p.pendingIndex = local;
            msg = Initiation.encode(local, noise);
            p.cookies.addMacs(msg);
        }
        log.debug("{}: sending handshake initiation", p);
        p.timers.anyAuthenticatedPacketTraversal();
        p.timers.anyAuthenticatedPacketSent();
        p.sendBuffer(msg, 0, msg.length);
        p.timers.handshakeInitiated();
    }
}
