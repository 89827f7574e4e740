package dev.lattice.wireguard.device;

import dev.lattice.wireguard.replay.ReplayFilter;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.spec.SecretKeySpec;

/** One session's transport keys with its send counter and receive replay window. */
final class Keypair {
    final Peer peer;
    final boolean initiator;
    final long createdNanos;
    final int localIndex;
    final int remoteIndex;
    final SecretKeySpec sendKey;
    final SecretKeySpec recvKey;
    final AtomicLong sendCounter = new AtomicLong();
    /** Touched only by the receive thread. */
    final ReplayFilter replay = new ReplayFilter();

    Keypair(Peer peer, boolean initiator, long createdNanos, int localIndex, int remoteIndex, byte[] send, byte[] recv) {
        this.peer = peer;
        this.initiator = initiator;
        this.createdNanos = createdNanos;
        this.localIndex = localIndex;
        this.remoteIndex = remoteIndex;
        this.sendKey = new SecretKeySpec(send, "ChaCha20");
        this.recvKey = new SecretKeySpec(recv, "ChaCha20");
    }

    long ageNanos(long now) {
        return now - createdNanos;
    }

    @Override
    public String toString() {
        return "Keypair[local=" + Integer.toUnsignedString(localIndex) + "]";
    }
}
