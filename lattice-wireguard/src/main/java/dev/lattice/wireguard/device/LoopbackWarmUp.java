package dev.lattice.wireguard.device;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.ip.VirtioNetHdr;
import dev.lattice.wireguard.conn.UdpSocket;
import dev.lattice.wireguard.tun.TunDevice;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a bulk transfer both ways between two throwaway devices on the loopback interface at start, so that the
 * whole offload data path is compiled before the first real transfer: TUN read, TSO split, counters, the crypto
 * pipeline, UDP GSO send, GRO receive, decryption, replay window, the TCP merge and the TUN write (and the FFM
 * downcalls among them). {@link WarmUp} alone compiles the compute but not the code around it, and a fresh
 * latticed took 3-4 s to reach full speed in its first transfer. Each device has its own keys made here, a
 * made-up TUN and a UDP socket on a free port, and everything is closed at the end. Bounded by {@link #BUDGET}
 * super-packets a side and {@link #DEADLINE_NANOS}; runs on the warm-up thread at low priority.
 */
final class LoopbackWarmUp {
    /** TSO super-packets each side sends: ~45 segments each, some 10k packets a side, past C2's thresholds. */
    static final int BUDGET = 300;
    static final long DEADLINE_NANOS = 3_000_000_000L;

    private LoopbackWarmUp() {}

    /** Returns the bytes the side that got fewer had written to its made-up TUN (0 if the devices never shook hands). */
    static long run() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + DEADLINE_NANOS;
        NodePrivateKey ka = NodePrivateKey.generate();
        NodePrivateKey kb = NodePrivateKey.generate();
        FlowTun ta = new FlowTun("warm-a", 1, 2);
        FlowTun tb = new FlowTun("warm-b", 2, 1);
        try (Device a = new Device(ta, UdpSocket::open, Clock.SYSTEM);
                Device b = new Device(tb, UdpSocket::open, Clock.SYSTEM)) {
            a.setWarmUp(Device.WarmUpLevel.NONE);
            b.setWarmUp(Device.WarmUpLevel.NONE);
            a.setListenPort(0);
            b.setListenPort(0);
            a.setPrivateKey(ka);
            b.setPrivateKey(kb);
            a.start();
            b.start();
            InetAddress lo = InetAddress.getLoopbackAddress();
            Peer pb = a.addPeer(kb.publicKey());
            a.allowedIps().insert(IpPrefix.parse("10.255.0.2/32"), pb);
            a.setEndpoint(pb, new InetSocketAddress(lo, b.listenPort()));
            Peer pa = b.addPeer(ka.publicKey());
            b.allowedIps().insert(IpPrefix.parse("10.255.0.1/32"), pa);
            b.setEndpoint(pa, new InetSocketAddress(lo, a.listenPort()));

            ta.handshakePacket = true; // one small packet makes A start the handshake
            while ((pb.current == null || pa.current == null) && System.nanoTime() < deadline) Thread.sleep(5);
            if (pb.current == null || pa.current == null) return 0;
            ta.flowing = true;
            tb.flowing = true;
            while ((ta.left > 0 || tb.left > 0) && System.nanoTime() < deadline) Thread.sleep(10);
            Thread.sleep(20); // what is in flight lands
            return Math.min(ta.delivered.get(), tb.delivered.get());
        }
    }

    /**
     * A made-up offload TUN: reads give {@link #BUDGET} TSO super-packets of a TCP flow to the peer's address, every
     * fourth read a bare ACK instead (a single packet, no offload); written bytes are counted and dropped.
     */
    static final class FlowTun implements TunDevice {
        private static final int MSS = 1380;
        private final String name;
        private final byte[] superPacket;
        private final byte[] ack;
        final AtomicLong delivered = new AtomicLong();
        volatile boolean handshakePacket;
        volatile boolean flowing;
        volatile int left = BUDGET; // written by the TUN reader only
        private int reads;

        FlowTun(String name, int self, int peer) {
            this.name = name;
            this.superPacket = withHeader(new VirtioNetHdr(VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 40, MSS, 20, 16),
                    WarmUp.tcpPacket(self, peer, 64_000));
            this.ack = withHeader(new VirtioNetHdr(VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_NONE, 0, 0, 20, 16),
                    WarmUp.tcpPacket(self, peer, 0));
        }

        private static byte[] withHeader(VirtioNetHdr h, byte[] p) {
            byte[] b = new byte[VirtioNetHdr.SIZE + p.length];
            b[0] = (byte) h.flags();
            b[1] = (byte) h.gsoType();
            putU16(b, 2, h.hdrLen());
            putU16(b, 4, h.gsoSize());
            putU16(b, 6, h.csumStart());
            putU16(b, 8, h.csumOffset());
            System.arraycopy(p, 0, b, VirtioNetHdr.SIZE, p.length);
            return b;
        }

        private static void putU16(byte[] b, int off, int v) {
            b[off] = (byte) v;
            b[off + 1] = (byte) (v >>> 8);
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int mtu() {
            return Device.DEFAULT_MTU;
        }

        @Override
        public boolean vnetHdr() {
            return true;
        }

        @Override
        public int read(byte[] buf, int off, int max, int timeoutMillis) {
            byte[] p = null;
            if (flowing && left > 0) {
                p = (reads++ & 3) == 3 ? ack : superPacket;
                if (p == superPacket) left--;
            } else if (handshakePacket) {
                handshakePacket = false;
                p = ack;
            }
            if (p == null || p.length > max) {
                try {
                    Thread.sleep(Math.max(1, Math.min(timeoutMillis, 5)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return 0;
            }
            System.arraycopy(p, 0, buf, off, p.length);
            return p.length;
        }

        @Override
        public void write(byte[] buf, int off, int len) {
            delivered.addAndGet(len);
        }

        @Override
        public void close() {}
    }
}
