package dev.lattice.derp;

import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.derp.client.DerpClientListener;
import dev.lattice.wire.derp.DerpFrame;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A client listener that records what arrives, for tests. */
public class Recorder implements DerpClientListener {
    public record Packet(NodePublicKey src, byte[] data) {}

    public final BlockingQueue<Packet> packets = new LinkedBlockingQueue<>();
    public final BlockingQueue<DerpFrame.PeerGone> gone = new LinkedBlockingQueue<>();
    public final BlockingQueue<DerpFrame.PeerPresent> present = new LinkedBlockingQueue<>();
    public final BlockingQueue<Throwable> disconnects = new LinkedBlockingQueue<>();
    public final AtomicInteger connects = new AtomicInteger();
    public final AtomicInteger received = new AtomicInteger();
    private final boolean keep;

    public Recorder() {
        this(true);
    }

    /** keep=false only counts packets (benchmarks). */
    public Recorder(boolean keep) {
        this.keep = keep;
    }

    @Override
    public void onPacket(NodePublicKey src, byte[] packet) {
        received.incrementAndGet();
        if (keep) packets.add(new Packet(src, packet));
    }

    @Override
    public void onPeerGone(NodePublicKey peer, int reason) {
        gone.add(new DerpFrame.PeerGone(peer, reason));
    }

    @Override
    public void onPeerPresent(DerpFrame.PeerPresent p) {
        present.add(p);
    }

    @Override
    public void onConnected(NodePublicKey serverKey, int generation) {
        connects.incrementAndGet();
    }

    @Override
    public void onDisconnected(Throwable cause) {
        disconnects.add(cause);
    }

    public Packet next(Duration d) throws InterruptedException {
        return packets.poll(d.toMillis(), TimeUnit.MILLISECONDS);
    }
}
