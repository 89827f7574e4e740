package dev.lattice.wireguard.device;

import static dev.lattice.wireguard.device.Protocol.KEEPALIVE_TIMEOUT;
import static dev.lattice.wireguard.device.Protocol.MAX_TIMER_HANDSHAKES;
import static dev.lattice.wireguard.device.Protocol.REJECT_AFTER_TIME;
import static dev.lattice.wireguard.device.Protocol.REKEY_TIMEOUT;
import static dev.lattice.wireguard.device.Protocol.jitter;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One peer's five protocol timers and the events that arm them (wireguard-go's {@code timers.go}): handshake
 * retransmission, passive keepalive, new handshake after unanswered data, zeroing of old key material, and
 * persistent keepalive.
 */
final class Timers {
    private final Peer peer;
    private final PeerTimer retransmitHandshake;
    private final PeerTimer sendKeepalive;
    private final PeerTimer newHandshake;
    private final PeerTimer zeroKeyMaterial;
    private final PeerTimer persistentKeepalive;
    final AtomicInteger handshakeAttempts = new AtomicInteger();
    private volatile boolean needAnotherKeepalive;
    volatile boolean sentLastMinuteHandshake;

    Timers(Peer peer, Device device) {
        this.peer = peer;
        var s = device.scheduler;
        var c = device.clock;
        retransmitHandshake = new PeerTimer(s, c, this::expiredRetransmitHandshake);
        sendKeepalive = new PeerTimer(s, c, this::expiredSendKeepalive);
        newHandshake = new PeerTimer(s, c, this::expiredNewHandshake);
        zeroKeyMaterial = new PeerTimer(s, c, this::expiredZeroKeyMaterial);
        persistentKeepalive = new PeerTimer(s, c, this::expiredPersistentKeepalive);
    }

    private boolean active() {
        return peer.timersActive();
    }

    void stop() {
        retransmitHandshake.del();
        sendKeepalive.del();
        newHandshake.del();
        zeroKeyMaterial.del();
        persistentKeepalive.del();
    }

    void dataSent() {
        if (active() && !newHandshake.isPending()) {
            newHandshake.mod(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter());
        }
    }

    void dataReceived() {
        if (active()) {
            if (!sendKeepalive.isPending()) sendKeepalive.mod(KEEPALIVE_TIMEOUT);
            else needAnotherKeepalive = true;
        }
    }

    void anyAuthenticatedPacketSent() {
        if (active() && sendKeepalive.isPending()) sendKeepalive.del();
    }

    void anyAuthenticatedPacketReceived() {
        if (active() && newHandshake.isPending()) newHandshake.del();
    }

    void handshakeInitiated() {
        if (active()) retransmitHandshake.mod(REKEY_TIMEOUT + jitter());
    }

    void handshakeComplete() {
        if (active()) retransmitHandshake.del();
        handshakeAttempts.set(0);
        sentLastMinuteHandshake = false;
        peer.lastHandshakeEpochNanos = peer.device.clock.epochNanos();
    }

    void sessionDerived() {
        if (active()) zeroKeyMaterial.mod(REJECT_AFTER_TIME * 3);
    }

    void anyAuthenticatedPacketTraversal() {
        int ka = peer.persistentKeepaliveSeconds;
        if (ka > 0 && active()) persistentKeepalive.mod(ka * 1_000_000_000L);
    }

    private void expiredRetransmitHandshake() {
        if (handshakeAttempts.get() > MAX_TIMER_HANDSHAKES) {
            if (active()) sendKeepalive.del();
            peer.staged.clear();
            if (active() && !zeroKeyMaterial.isPending()) zeroKeyMaterial.mod(REJECT_AFTER_TIME * 3);
        } else {
            handshakeAttempts.incrementAndGet();
            peer.device.handshakes.sendInitiation(peer, true);
        }
    }

    private void expiredSendKeepalive() {
        peer.sendKeepalive();
        if (needAnotherKeepalive) {
            needAnotherKeepalive = false;
            if (active()) sendKeepalive.mod(KEEPALIVE_TIMEOUT);
        }
    }

    private void expiredNewHandshake() {
        peer.device.handshakes.sendInitiation(peer, false);
    }

    private void expiredZeroKeyMaterial() {
        peer.zeroAndFlushAll();
    }

    private void expiredPersistentKeepalive() {
        if (peer.persistentKeepaliveSeconds > 0) peer.sendKeepalive();
    }
}
