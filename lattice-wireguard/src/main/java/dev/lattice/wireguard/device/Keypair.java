package dev.lattice.wireguard.device;

import dev.lattice.wireguard.replay.ReplayFilter;
import java.util.concurrent.atomic.AtomicLong;

/** One session's transport keys with its send counter and receive replay window. */
final class Keypair {
    final Peer peer;
    final boolean initiator;
    final long createdNanos;
    final int localIndex;
    final int remoteIndex;
    final TransportKey sendKey;
    final TransportKey recvKey;
    final AtomicLong sendCounter = new AtomicLong();
    /** Touched only by the receive thread. */
    final ReplayFilter replay = new ReplayFilter();

    Keypair(Peer peer, boolean initiator, long createdNanos, int localIndex, int remoteIndex, byte[] send, byte[] recv) {
        this.peer = peer;
        this.initiator = initiator;
        this.createdNanos = createdNanos;
        this.localIndex = localIndex;
        this.remoteIndex = remoteIndex;
        this.sendKey = new TransportKey(send);
        this.recvKey = new TransportKey(recv);
    }

    long ageNanos(long now) {
        return now - createdNanos;
    }

    @Override
    public String toString() {
        return "Keypair[local=" + Integer.toUnsignedString(localIndex) + "]";
    }
}
