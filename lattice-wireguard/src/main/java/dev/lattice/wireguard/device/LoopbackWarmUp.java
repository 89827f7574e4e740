package dev.lattice.wireguard.device;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.ip.VirtioNetHdr;
import dev.lattice.wireguard.conn.UdpSocket;
import dev.lattice.wireguard.tun.TunDevice;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * Runs a bulk transfer both ways between two throwaway devices on the loopback interface at start, so that the
 * whole offload data path is compiled by C2 before the first real transfer: TUN read, TSO split, counters, the
 * crypto pipeline, UDP GSO send, GRO receive, decryption, replay window, the TCP merge and the TUN write (and the
 * FFM downcalls among them). {@link WarmUp} alone compiles the compute but not the code around it, and a fresh
 * latticed took 3-4 s of its first transfer to reach full speed, its C2 compiles competing with the traffic for
 * the CPU. Each device has its own keys made here, a made-up TUN and a UDP socket on a free port, and everything
 * is closed at the end.
 *
 * <p>The transfer goes in rounds of {@link #ROUND} super-packets a side, at least {@link #MIN_ROUNDS}, until the JIT's
 * compiler threads have been quiet for {@link #QUIET_WINDOW_NANOS} ({@link CompilerActivity}: everything the traffic
 * made hot is compiled), at most until {@link #DEADLINE_NANOS}. Per-packet methods need some 10,000 calls before C2
 * takes them (5 rounds), per-burst ones (a TUN read's split, its send) some 600 calls and 15,000 loop turns, and
 * more while C2's queue is long (HotSpot raises its thresholds with the queue); after those rounds the warm-up
 * rests between rounds ({@link #REST_PER_ROUND}), leaving the CPU to C2 and to whatever else the machine is
 * starting: at full speed until the end it took the CPU of a whole 2-core machine for seconds. Where the compilers'
 * time cannot be read, the rounds stop when two in a row are no faster than the best before them. That alone stopped
 * too early:
 * behind the other start-up warm-ups' methods, C2 had not yet taken the data path, whose C1 code ran at a steady
 * (slow) speed, and a first transfer then ran at half speed for its first second while C2 caught up. Run it after
 * the rest of start-up's warm-ups: while C2's queue is long, C1 compiles methods at its tier 2, whose code stays
 * until that queue is short again.
 */
final class LoopbackWarmUp {
    /**
     * TSO super-packets each side sends per round, of {@link #SUPER_PACKET} bytes: 12 segments each, where a bulk
     * transfer's have up to 47. The code is the same, and the pipeline's jobs grow buffers only for the segments they
     * carry: with full-size super-packets the two devices' jobs held ~5 MB, which the serial collector promoted and
     * kept as a larger heap for the daemon's life.
     */
    static final int ROUND = 200;
    static final int SUPER_PACKET = 16_000;
    static final int MIN_ROUNDS = 5;
    static final long DEADLINE_NANOS = 8_000_000_000L;
    /** After the first rounds, each round is followed by a pause this many times as long as it took. */
    static final int REST_PER_ROUND = 3;
    /** How long the compilers must have been (nearly) idle for the warm-up to end. */
    static final long QUIET_WINDOW_NANOS = 300_000_000L;
    /** The share of that window they may still have used: a stray compile of a method made hot elsewhere. */
    static final double QUIET_BUSY_SHARE = 0.1;

    private LoopbackWarmUp() {}

    /** Returns the bytes the side that got fewer had written to its made-up TUN (0 if the devices never shook hands). */
    static long run() throws IOException, InterruptedException {
        return run(MIN_ROUNDS, DEADLINE_NANOS, () -> false, UnaryOperator.identity(), Device.WarmUpLink.DIRECT);
    }

    /**
     * As {@link #run()} with at least {@code minRounds} rounds, all within {@code deadlineNanos}, stopping early as soon
     * as {@code stop} says so (real traffic started: a warm-up then only takes CPU from it). Each device's made-up TUN
     * is given to {@code wrap} first: a daemon whose device reads and writes through a wrapper of its own (latticed's
     * packet filter) passes one, so that the wrapper is compiled too and the device's calls into it see the type
     * they will see with real traffic. The two devices reach each other through {@code link}.
     */
    static long run(int minRounds, long deadlineNanos, BooleanSupplier stop, UnaryOperator<TunDevice> wrap,
            Device.WarmUpLink link) throws IOException, InterruptedException {
        return run(minRounds, deadlineNanos, stop, wrap, link,
                new CompilerActivity(CompilerActivity::ticks, QUIET_WINDOW_NANOS, QUIET_BUSY_SHARE));
    }

    static long run(int minRounds, long deadlineNanos, BooleanSupplier stop, UnaryOperator<TunDevice> wrap,
            Device.WarmUpLink link, CompilerActivity compilers) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + deadlineNanos;
        NodePrivateKey ka = NodePrivateKey.generate();
        NodePrivateKey kb = NodePrivateKey.generate();
        FlowTun ta = new FlowTun("warm-a", 1, 2);
        FlowTun tb = new FlowTun("warm-b", 2, 1);
        try (Device a = new Device(wrap.apply(ta), UdpSocket::open, Clock.SYSTEM);
                Device b = new Device(wrap.apply(tb), UdpSocket::open, Clock.SYSTEM)) {
            a.setWarmUp(Device.WarmUpLevel.NONE);
            b.setWarmUp(Device.WarmUpLevel.NONE);
            a.setListenPort(0);
            b.setListenPort(0);
            a.setPrivateKey(ka);
            b.setPrivateKey(kb);
            a.start();
            b.start();
            Peer pb = a.addPeer(kb.publicKey());
            a.allowedIps().insert(IpPrefix.parse(Device.WARM_UP_ADDRESSES.get(1)), pb);
            Peer pa = b.addPeer(ka.publicKey());
            b.allowedIps().insert(IpPrefix.parse(Device.WARM_UP_ADDRESSES.get(0)), pa);
            try (AutoCloseable linked = link.link(a, ka, pb, b, kb, pa)) {
                return flow(pb, ta, pa, tb, minRounds, deadline, stop, compilers);
            } catch (IOException | InterruptedException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException("closing the warm-up's link: " + e.getMessage(), e);
            }
        }
    }

    /** The transfer itself, once the devices can reach each other; see the class comment. */
    private static long flow(Peer pb, FlowTun ta, Peer pa, FlowTun tb, int minRounds, long deadline,
            BooleanSupplier stop, CompilerActivity compilers) throws InterruptedException {
        ta.handshakePacket = true; // one small packet makes A start the handshake
        while ((pb.current == null || pa.current == null) && System.nanoTime() < deadline) Thread.sleep(5);
        if (pb.current == null || pa.current == null) return 0;
        ta.flowing = true;
        tb.flowing = true;
        boolean byCompilers = compilers.measurable();
        long best = Long.MAX_VALUE;
        int slower = 0;
        for (int round = 1; System.nanoTime() < deadline && !stop.getAsBoolean(); round++) {
            long t0 = System.nanoTime();
            ta.left = ROUND;
            tb.left = ROUND;
            while ((ta.left > 0 || tb.left > 0) && System.nanoTime() < deadline && !stop.getAsBoolean()) Thread.sleep(1);
            long now = System.nanoTime();
            long took = now - t0;
            slower = took >= best ? slower + 1 : 0;
            best = Math.min(best, took);
            boolean quiet = byCompilers ? compilers.quiet(now) : slower >= 2;
            if (round >= minRounds && quiet) break;
            // Past the first rounds the counts that make C2 take a method are there; what is left is C2's own
            // work, which full-speed rounds would take the CPU from (and from an `up` running meanwhile).
            if (round >= minRounds && byCompilers) Thread.sleep(Math.max(1, took * REST_PER_ROUND / 1_000_000));
        }
        ta.left = 0;
        tb.left = 0;
        Thread.sleep(20); // what is in flight lands
        return Math.min(ta.delivered.get(), tb.delivered.get());
    }

    /**
     * A made-up offload TUN: while {@link #left} is positive, reads give TSO super-packets of a TCP flow to the peer's
     * address (counting {@code left} down), every fourth read a bare ACK instead (a single packet, no offload), and
     * now and then an IPv6 packet with nowhere to go ({@link #routerSolicitation()});
     * written bytes are counted and dropped. Half of the packets have the shape of Linux's bulk TCP (timestamps, PSH,
     * and an odd length): with one shape only, C2 compiled the data path without the branches the other takes, and a
     * first real transfer deoptimised it (the TCP merge's header checks; other traps remain, see bench/README.md).
     */
    static final class FlowTun implements TunDevice {
        private static final int MSS = 1380;
        private final String name;
        private final byte[] superPacket;
        private final byte[] superPacketLikeLinux;
        private final byte[] ack;
        private final byte[] ackLikeLinux;
        private final byte[] routerSolicitation;
        final AtomicLong delivered = new AtomicLong();
        volatile boolean handshakePacket;
        volatile boolean flowing;
        volatile int left; // set by the warm-up, counted down by the TUN reader
        private int reads;

        FlowTun(String name, int self, int peer) {
            this.name = name;
            this.superPacket = withHeader(new VirtioNetHdr(VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 40, MSS, 20, 16),
                    WarmUp.tcpPacket(self, peer, SUPER_PACKET));
            this.ack = withHeader(new VirtioNetHdr(VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_NONE, 0, 0, 20, 16),
                    WarmUp.tcpPacket(self, peer, 0));
            this.superPacketLikeLinux = withHeader(new VirtioNetHdr(VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 52, MSS - 12, 20, 16),
                    WarmUp.tcpPacket(self, peer, SUPER_PACKET - 3, true));
            this.ackLikeLinux = withHeader(new VirtioNetHdr(VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_NONE, 0, 0, 20, 16),
                    WarmUp.tcpPacket(self, peer, 0, true));
            this.routerSolicitation = withHeader(new VirtioNetHdr(0, VirtioNetHdr.GSO_NONE, 0, 0, 0, 0), routerSolicitation());
        }

        /**
         * An ICMPv6 router solicitation from a link-local address to all routers (ff02::2): one of the IPv6 packets the
         * kernel itself sends on a real TUN, which no peer's allowed IPs cover. A first real transfer met them and
         * deoptimised the IPv4-only code the warm-up had left (`IpPacket`'s offsets, the filter's parsing).
         */
        static byte[] routerSolicitation() {
            byte[] p = new byte[40 + 8];
            p[0] = 0x60;
            p[5] = 8; // payload length
            p[6] = 58; // ICMPv6
            p[7] = (byte) 255;
            p[8] = (byte) 0xfe;
            p[9] = (byte) 0x80;
            p[23] = 1; // fe80::1
            p[24] = (byte) 0xff;
            p[25] = 0x02;
            p[39] = 2; // ff02::2
            p[40] = (byte) 133; // router solicitation
            return p;
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
                int r = reads++;
                boolean linux = ((r >>> 2) & 1) == 1;
                if ((r & 63) == 62) {
                    p = routerSolicitation;
                } else if ((r & 3) == 3) {
                    p = linux ? ackLikeLinux : ack;
                } else {
                    p = linux ? superPacketLikeLinux : superPacket;
                    left--;
                }
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
