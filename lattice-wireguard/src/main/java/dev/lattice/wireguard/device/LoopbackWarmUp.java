package dev.lattice.wireguard.device;

import dev.lattice.wireguard.sys.Libc;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.ip.VirtioNetHdr;
import dev.lattice.wire.wireguard.WgMessage;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.conn.UdpSocket;
import dev.lattice.wireguard.tun.LinuxTun;
import dev.lattice.wireguard.tun.TunDevice;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a bulk transfer both ways between two throwaway devices on the loopback interface at start, so that the
 * whole offload data path is compiled by C2 before the first real transfer: TUN read, TSO split, counters, the
 * crypto pipeline, UDP GSO send, GRO receive, decryption, replay window, the TCP merge and the TUN write (and the
 * FFM downcalls among them). {@link WarmUp} alone compiles the compute but not the code around it, and a fresh
 * latticed took 3-4 s of its first transfer to reach full speed, its C2 compiles competing with the traffic for
 * the CPU. Each device has its own keys made here, a made-up TUN ({@link Flow}: the real TUN's code over a socket
 * pair) and a UDP socket on a free port, and everything is closed at the end.
 *
 * <p>The transfer goes in rounds of {@link #ROUND} super-packets a side, at least {@link #MIN_ROUNDS}, until the JIT's
 * compiler threads have been quiet for a window of {@link #QUIET_WINDOW_NANOS} ({@link CompilerActivity}: the
 * start-up's queue of compiles has drained) and then {@link #QUIET_ROUNDS} rounds more, at most until
 * {@link #DEADLINE_NANOS}. Quiet compilers alone do not say that the data path is compiled: a method waits in C1's
 * profiling code (tier 3) until it has been called some 5,000 times there, or 600 times with 15,000 loop turns, and
 * meanwhile the compilers have nothing to do; while C2's queue is long C1 even compiles at its tier 2, with no
 * profile, and only once the queue is short at tier 3, whose counts then start from nothing. On a loaded start the
 * warm-up had ended at its first quiet window after 21-30 MB with the receive path still in C1's code, and C2
 * compiled 41 of its methods in the first second of the first transfer. Waiting for the compilers to stay quiet
 * through those calls does not work either: a starting daemon's other work keeps them busy now and then. After the
 * first rounds the warm-up rests between rounds ({@link #REST_PER_ROUND}), leaving the CPU to C2 and to whatever else
 * the machine is starting: at full speed until the end it took the CPU of a whole 2-core machine for seconds. Where
 * the compilers' time cannot be read, the rounds stop when two in a row are no faster than the best before them. Run
 * it after the rest of start-up's warm-ups.
 */
final class LoopbackWarmUp {
    private static final Logger log = LoggerFactory.getLogger(LoopbackWarmUp.class);

    /**
     * TSO super-packets each side sends per round, half of {@link #SUPER_PACKET} bytes (12 segments each, where a
     * bulk transfer's have up to 47) and half of two segments: per-burst methods get their calls for less crypto. The
     * code is the same, and the pipeline's jobs grow buffers only for the segments they carry: with full-size
     * super-packets only the two devices' jobs held ~5 MB, which the serial collector promoted and kept as a larger
     * heap for the daemon's life; one in {@link #LARGE_EVERY} is full-size, for the branches only those take.
     */
    static final int ROUND = 200;
    static final int SUPER_PACKET = 16_000;
    static final int SMALL_SUPER_PACKET = 2 * Flow.MSS;
    /**
     * One super-packet in {@link #LARGE_EVERY} is of Linux's largest size (47 segments): a send job then holds more
     * than one GSO send can carry (64 KB) and must split it, a branch the smaller ones never take; a first real
     * transfer took it with its first super-packet and deoptimised the send path.
     */
    static final int LARGE_SUPER_PACKET = 47 * (Flow.MSS - 12) - 3;
    static final int LARGE_EVERY = 32;
    /**
     * Rounds after the compilers were first quiet: a round is some 980 TUN reads (each device's 200 super-packets, their
     * acks), so each per-burst method (a TUN read, its burst) gets some 14,000 calls, past C2's 5,000 with room for a
     * method that C1 recompiles for its profile only then (tier 2 to 3, whose counts start from nothing).
     */
    static final int QUIET_ROUNDS = 15;
    static final int MIN_ROUNDS = 5;
    static final long DEADLINE_NANOS = 10_000_000_000L;
    /**
     * After the first rounds, each round is followed by a pause this many times as long as it took. Once a round's length
     * after the compilers were first quiet (ending sooner) made a daemon that was already up take the CPU from the
     * other's `up` (its CLI's start and login): B's `up` 0.5-0.9 s against 0.3-0.5.
     */
    static final int REST_PER_ROUND = 3;
    /** The longest a pause may hold the warm-up (a login that hangs must not keep its devices open). */
    static final long MAX_PAUSE_NANOS = 10_000_000_000L;
    /**
     * Every how many batches the devices' pipelines renew a job, so that new jobs' branches are compiled too
     * ({@link Pipeline#Pipeline(String, int, int, java.util.function.Supplier, int)}): every fourth round or so in each.
     * A renewed job grows its buffers again (up to some 90 KB), and every 256 batches the serial collector's heap grew
     * by some 10 MB for the daemon's life.
     */
    static final int RENEW_JOBS_EVERY = 2048;
    /**
     * Every how many rounds one device (the two in turn) starts a new handshake while the flow runs: the session
     * switch under traffic (the responder's first packet on its new session, the old session's index deleted while
     * packets for it are in flight), which a real device meets at its first transfer's handshake and every two
     * minutes after, and which the warm-up's one handshake before its flow never showed C2.
     */
    static final int REKEY_EVERY = 3;
    /**
     * One rest, after the first rounds (the code is in C1's profiling tier or C2's by then), is this long: longer than
     * the packet threads' polls
     * ({@link Device#POLL_MILLIS}), so that each of them sees a poll time out, as a real device's do whenever it idles,
     * and C2 compiles the timeouts' branches now rather than at a real device's first idle moment in a transfer.
     */
    static final long IDLE_NANOS = (Device.POLL_MILLIS + 150) * 1_000_000L;
    /** How long the {@link #rehearseClose() rehearsal's} device lives: its close comes a few rounds into the flow. */
    static final long REHEARSAL_NANOS = 2_000_000_000L;
    /** How long the compilers must have been (nearly) idle for the last rounds to begin. */
    static final long QUIET_WINDOW_NANOS = 300_000_000L;
    /** The share of that window they may still have used: a stray compile of a method made hot elsewhere. */
    static final double QUIET_BUSY_SHARE = 0.1;

    private LoopbackWarmUp() {}

    /** Returns the bytes the side that got fewer had written to its made-up TUN (0 if the devices never shook hands). */
    static long run() throws IOException, InterruptedException {
        return run(MIN_ROUNDS, DEADLINE_NANOS, () -> false, () -> false, UnaryOperator.identity(), Device.WarmUpLink.DIRECT);
    }

    /**
     * As {@link #run()} with at least {@code minRounds} rounds, all within {@code deadlineNanos}, stopping early as soon
     * as {@code stop} says so (real traffic started: a warm-up then only takes CPU from it). Each device's made-up TUN
     * is given to {@code wrap} first: a daemon whose device reads and writes through a wrapper of its own (latticed's
     * packet filter) passes one, so that the wrapper is compiled too and the device's calls into it see the type
     * they will see with real traffic. The two devices reach each other through {@code link}. While {@code pause}
     * says so (latticed: an `up` is logging in and applying its first netmap) no round starts, and the deadline waits.
     */
    static long run(int minRounds, long deadlineNanos, BooleanSupplier stop, BooleanSupplier pause,
            UnaryOperator<TunDevice> wrap, Device.WarmUpLink link) throws IOException, InterruptedException {
        return run(minRounds, deadlineNanos, stop, pause, wrap, link,
                new CompilerActivity(CompilerActivity::ticks, QUIET_WINDOW_NANOS, QUIET_BUSY_SHARE)).bytes();
    }

    /**
     * What a warm-up did: the bytes of {@link #run()}, its rounds, the sessions device A sent on (the first and those
     * of the handshakes during the flow), and the datagrams both devices dropped as replays and for unknown indices.
     */
    record Outcome(long bytes, int rounds, int sessions, long replayed, long unknownIndex) {}

    static Outcome run(int minRounds, long deadlineNanos, BooleanSupplier stop, BooleanSupplier pause,
            UnaryOperator<TunDevice> wrap, Device.WarmUpLink link, CompilerActivity compilers)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + deadlineNanos;
        NodePrivateKey ka = NodePrivateKey.generate();
        NodePrivateKey kb = NodePrivateKey.generate();
        Thread rehearsal = Thread.ofVirtual().name("warm-up close rehearsal").start(LoopbackWarmUp::rehearseClose);
        try (Flow ta = new Flow("warm-a", 1, 2); Flow tb = new Flow("warm-b", 2, 1)) {
            try (Devices both = new Devices(wrap.apply(ta.deviceEnd), wrap.apply(tb.deviceEnd))) {
                Device a = both.a;
                Device b = both.b;
                a.setWarmUp(Device.WarmUpLevel.NONE);
                b.setWarmUp(Device.WarmUpLevel.NONE);
                a.jobRenewal = RENEW_JOBS_EVERY;
                b.jobRenewal = RENEW_JOBS_EVERY;
                a.background = true;
                b.background = true;
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
                ta.start();
                tb.start();
                try (AutoCloseable linked = link.link(a, ka, pb, b, kb, pa)) {
                    return flow(pb, ta, pa, tb, minRounds, deadline, stop, pause, compilers);
                } catch (IOException | InterruptedException | RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IOException("closing the warm-up's link: " + e.getMessage(), e);
                } finally {
                    // before the devices close their ends: the kernel side's threads then never read a closed pair
                    ta.stop();
                    tb.stop();
                }
            }
        } finally {
            rehearsal.join();
        }
    }

    /**
     * Starts a third throwaway device with a peer and closes it after {@link #REHEARSAL_NANOS}, while the flow runs. A
     * device's close takes branches of the JDK's thread pools and locks that nothing else takes (its scheduler's
     * workers interrupted, their waits cut short), and the C2 code of those methods, shared by every thread of the
     * daemon, was deoptimised by the warm-up's own close at its end: often during a first transfer (which is what
     * stops the warm-up), whose first second then recompiled them (50-150 ms of C2). Closed early, the branches are in
     * the profile by the end.
     */
    static void rehearseClose() {
        try {
            LinuxTun[] pair = LinuxTun.socketPair("warm-r", Device.DEFAULT_MTU, true);
            try (Device d = new Device(pair[0], UdpSocket::open, Clock.SYSTEM)) {
                d.background = true;
                d.setWarmUp(Device.WarmUpLevel.NONE);
                d.setListenPort(0);
                d.setPrivateKey(NodePrivateKey.generate());
                d.start();
                Peer p = d.addPeer(NodePrivateKey.generate().publicKey());
                p.timers.handshakeInitiated(); // a pending timer for the close to cancel
                Thread.sleep(REHEARSAL_NANOS / 1_000_000);
            } finally {
                pair[1].close();
            }
        } catch (IOException | RuntimeException e) {
            log.debug("warm-up close rehearsal failed: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The two throwaway devices, closed together: a device's close waits up to half a second for its threads' polls,
     * and the warm-up's end often comes with the first real traffic (it is what stops it).
     */
    private static final class Devices implements AutoCloseable {
        final Device a;
        final Device b;

        Devices(TunDevice ta, TunDevice tb) {
            a = new Device(ta, UdpSocket::open, Clock.SYSTEM);
            Device d;
            try {
                d = new Device(tb, UdpSocket::open, Clock.SYSTEM);
            } catch (RuntimeException e) {
                a.close();
                throw e;
            }
            b = d;
        }

        @Override
        public void close() {
            Thread other = Thread.ofVirtual().name("warm-up close").start(a::close);
            b.close();
            boolean interrupted = false;
            while (other.isAlive()) {
                try {
                    other.join();
                } catch (InterruptedException e) {
                    interrupted = true; // the flows' fds close after this, so both devices must be done with them
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** The transfer itself, once the devices can reach each other; see the class comment. */
    private static Outcome flow(Peer pb, Flow ta, Peer pa, Flow tb, int minRounds, long deadline,
            BooleanSupplier stop, BooleanSupplier pause, CompilerActivity compilers) throws InterruptedException {
        ta.handshake(); // one small packet makes A start the handshake
        while ((pb.current == null || pa.current == null) && System.nanoTime() < deadline) Thread.sleep(5);
        if (pb.current == null || pa.current == null) return new Outcome(0, 0, 0, 0, 0);
        Keypair session = pb.current;
        int sessions = 1;
        ta.flowing = true;
        tb.flowing = true;
        boolean byCompilers = compilers.measurable();
        long best = Long.MAX_VALUE;
        int slower = 0;
        int quietAt = 0; // the round after which the compilers were first seen quiet
        int round = 0;
        long roundsNanos = 0;
        while (System.nanoTime() < deadline && !stop.getAsBoolean()) {
            round++;
            if (pause.getAsBoolean()) {
                long p0 = System.nanoTime();
                while (pause.getAsBoolean() && !stop.getAsBoolean() && System.nanoTime() - p0 < MAX_PAUSE_NANOS) Thread.sleep(5);
                deadline += System.nanoTime() - p0; // the pause is not the warm-up's time
            }
            long t0 = System.nanoTime();
            ta.round(ROUND);
            tb.round(ROUND);
            while ((ta.left > 0 || tb.left > 0) && System.nanoTime() < deadline && !stop.getAsBoolean()) Thread.sleep(1);
            strayDatagrams(pb, pa);
            strayDatagrams(pa, pb);
            if (round % REKEY_EVERY == 0) newSession(round / REKEY_EVERY, pb, pa);
            Keypair cur = pb.current;
            if (cur != null && cur != session) {
                session = cur;
                sessions++;
            }
            long now = System.nanoTime();
            long took = now - t0;
            roundsNanos += took;
            slower = took >= best ? slower + 1 : 0;
            best = Math.min(best, took);
            boolean done;
            if (byCompilers) {
                if (quietAt == 0 && round >= minRounds && compilers.quiet(now)) quietAt = round;
                done = quietAt > 0 && round - quietAt >= QUIET_ROUNDS;
            } else {
                done = round >= minRounds && slower >= 2;
            }
            if (done) break;
            if (round == minRounds) Thread.sleep(IDLE_NANOS / 1_000_000);
            // Past the first rounds the counts that make C2 take a method are there; what is left is C2's own
            // work, which full-speed rounds would take the CPU from (and from an `up` running meanwhile).
            if (round >= minRounds && byCompilers) Thread.sleep(Math.max(1, took * REST_PER_ROUND / 1_000_000));
        }
        ta.left = 0;
        tb.left = 0;
        Thread.sleep(20); // what is in flight lands
        log.debug("loopback warm-up: {} rounds of {} ms on average, the compilers first quiet after round {}, {}", round,
                round == 0 ? 0 : roundsNanos / round / 1_000_000, quietAt,
                stop.getAsBoolean() ? "stopped by real traffic" : System.nanoTime() >= deadline ? "at its deadline" : "done");
        DeviceStats sa = pb.device.stats, sb = pa.device.stats;
        return new Outcome(Math.min(ta.delivered.get(), tb.delivered.get()), round, sessions,
                sa.replayed.sum() + sb.replayed.sum(), sa.unknownIndex.sum() + sb.unknownIndex.sum());
    }

    /**
     * Datagrams a real device meets in its first transfer and the warm-up's in-order loopback never showed C2 (which
     * then compiled the replay window and the index lookup without their branches), handed to {@code onReceiver}'s
     * device as DERP's are: a keepalive on {@code onSender}'s current session with a counter a few past the sender's
     * next, which the receiver takes, so that the data packets of the counters it skipped come after it (out of
     * order, as around a switch between DERP and a direct path) and then one with its counter (a replay); and a
     * transport message for an index nobody has.
     */
    static void strayDatagrams(Peer onSender, Peer onReceiver) {
        Keypair kp = onSender.current;
        Endpoint ep = onReceiver.endpoint;
        if (kp == null || ep == null) return;
        Receive receive = onReceiver.device.receive;
        byte[] src = ep.sockaddr().clone(); // the peer's own path: no roaming
        long ctr = kp.sendCounter.get() + 3;
        byte[] ahead = new byte[Device.HEADROOM + WgMessage.TAG_SIZE];
        WgMessage.putTransportHeader(ahead, 0, kp.remoteIndex, ctr);
        int n = Device.HEADROOM + TransportCipher.get().seal(kp.sendKey, ctr, ahead, Device.HEADROOM, 0);
        receive.receiveDatagram(ahead, n, src, null);
        byte[] stray = new byte[Device.HEADROOM + WgMessage.TAG_SIZE];
        WgMessage.putTransportHeader(stray, 0, ThreadLocalRandom.current().nextInt(), 0);
        receive.receiveDatagram(stray, stray.length, src, null);
    }

    /**
     * The {@code n}-th new session of the flow (see {@link #REKEY_EVERY}), in three ways, each by A's device and then
     * B's: it starts a handshake (a rekey: the old session goes on until the new one is confirmed); its sessions
     * expire, so that the next packets find none fit to send on, wait for a handshake and go after it; it forgets its
     * sessions, so that the next packets find none at all (as a first transfer's first packets do: its handshake
     * comes with them), and the other side's packets meet an index it no longer has.
     */
    static void newSession(int n, Peer pb, Peer pa) {
        Peer p = n % 2 == 0 ? pb : pa;
        switch (n / 2 % 3) {
            case 0 -> {
                Device d = p.device;
                d.scheduler.execute(() -> d.handshakes.sendInitiation(p, true)); // a retry: no 5-s rate limit
            }
            case 1 -> p.expireCurrentKeypairs();
            default -> {
                p.zeroAndFlushAll();
                p.expireCurrentKeypairs(); // lets the next packet start a handshake at once
            }
        }
    }

    /**
     * A made-up offload TUN: the kernel's side of a {@link LinuxTun#socketPair socket pair} whose other end
     * ({@link #deviceEnd}) a warm-up device reads and writes as its TUN, with the real TUN's code. While {@link #left}
     * is positive, a thread of its own writes TSO super-packets of a TCP flow (of three sizes) to the peer's address
     * (counting {@code left} down), every fourth packet a bare ACK instead (a single packet, no offload), one in sixteen
     * a small single data packet ({@link #SINGLE_PAYLOAD}), and now and then a SYN and an IPv6 packet with nowhere to go
     * ({@link #routerSolicitation()}); another thread counts and drops what the device writes. Half of the packets have
     * the shape of Linux's bulk TCP (timestamps, PSH, and an odd length): with one shape only, C2 compiled the data
     * path without the branches the other takes, and a first real transfer deoptimised it (the TCP merge's header
     * checks). With a made-up {@code TunDevice} in place of the pair, the device's calls into its TUN met a class in
     * the warm-up that a real device never has, and the first real packets deoptimised them (and all that C2 had
     * inlined around them).
     */
    static final class Flow implements AutoCloseable {
        static final int MSS = 1380;
        /**
         * The payload of the flow's single data packets (a small write: one segment, PSH set in Linux's shape): the TCP
         * merge on the receiving side then starts runs with PSH set and flushes runs of one, as it does for
         * interactive traffic and at the ends of bulk writes.
         */
        static final int SINGLE_PAYLOAD = 300;
        static final long STOP_WAIT_NANOS = 2_000_000_000L;
        final LinuxTun deviceEnd;
        private final LinuxTun kernelEnd;
        private final String name;
        private final byte[] superPacket;
        private final byte[] superPacketLikeLinux;
        private final byte[] smallSuperPacket;
        private final byte[] smallSuperPacketLikeLinux;
        private final byte[] largeSuperPacketLikeLinux;
        private final byte[] ack;
        private final byte[] ackLikeLinux;
        private final byte[] routerSolicitation;
        private final byte[] syn;
        private final byte[] single;
        private final byte[] singleLikeLinux;
        final AtomicLong delivered = new AtomicLong();
        volatile boolean handshakePacket;
        volatile boolean flowing;
        volatile int left; // set by the warm-up, counted down by the writer
        private volatile boolean stopped;
        private Thread writer;
        private Thread reader;
        private int packets;

        Flow(String name, int self, int peer) throws IOException {
            this.name = name;
            this.superPacket = tcp(self, peer, SUPER_PACKET, false, true);
            this.superPacketLikeLinux = tcp(self, peer, SUPER_PACKET - 3, true, true);
            this.smallSuperPacket = tcp(self, peer, SMALL_SUPER_PACKET, false, true);
            this.smallSuperPacketLikeLinux = tcp(self, peer, SMALL_SUPER_PACKET - 27, true, true);
            this.largeSuperPacketLikeLinux = tcp(self, peer, LARGE_SUPER_PACKET, true, true);
            this.ack = tcp(self, peer, 0, false, false);
            this.ackLikeLinux = tcp(self, peer, 0, true, false);
            this.routerSolicitation = withHeader(new VirtioNetHdr(0, VirtioNetHdr.GSO_NONE, 0, 0, 0, 0), routerSolicitation());
            this.syn = tcp(self, peer, 0, false, false);
            syn[VirtioNetHdr.SIZE + 33] = 0x02; // SYN: a new connection, which the packet filter checks against its rules
            this.single = tcp(self, peer, SINGLE_PAYLOAD, false, false);
            this.singleLikeLinux = tcp(self, peer, SINGLE_PAYLOAD, true, false);
            LinuxTun[] pair = LinuxTun.socketPair(name, Device.DEFAULT_MTU, true);
            this.deviceEnd = pair[0];
            this.kernelEnd = pair[1];
        }

        /**
         * A TCP packet from {@code self} to {@code peer} with {@code payload} bytes, behind the virtio_net_hdr the kernel
         * would give it: a TSO super-packet ({@code gso}) of {@link #MSS}-sized segments, or a single packet, both with
         * the checksum left to the device. {@code likeLinux}: see {@link WarmUp#tcpPacket(int, int, int, boolean)}.
         */
        private static byte[] tcp(int self, int peer, int payload, boolean likeLinux, boolean gso) {
            int headers = likeLinux ? 52 : 40;
            VirtioNetHdr h = gso
                    ? new VirtioNetHdr(VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, headers, MSS - (headers - 40), 20, 16)
                    : new VirtioNetHdr(VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_NONE, 0, 0, 20, 16);
            return withHeader(h, WarmUp.tcpPacket(self, peer, payload, likeLinux));
        }

        /** Starts the kernel side's writer and reader. */
        void start() {
            writer = Thread.ofPlatform().daemon().name(name + "-kernel-tx").start(() -> {
                Libc.niceCurrentThread(Device.BACKGROUND_NICE);
                writeLoop();
            });
            reader = Thread.ofPlatform().daemon().name(name + "-kernel-rx").start(() -> {
                Libc.niceCurrentThread(Device.BACKGROUND_NICE);
                readLoop();
            });
        }

        /** Lets the writer send {@code superPackets} super-packets (with their acks), as one round. */
        void round(int superPackets) {
            left = superPackets;
            LockSupport.unpark(writer);
        }

        /** Lets the writer send one small packet, which makes the device start a handshake. */
        void handshake() {
            handshakePacket = true;
            LockSupport.unpark(writer);
        }

        /** The next packet the kernel side sends the device, or null for none now. */
        byte[] next() {
            if (flowing && left > 0) {
                int r = packets++;
                boolean linux = ((r >>> 2) & 1) == 1;
                if ((r & 63) == 62) return routerSolicitation;
                if ((r & 63) == 30) return syn;
                if ((r & 15) == 6) return ((r >>> 4) & 1) == 1 ? singleLikeLinux : single; // bit 2 is always set here
                // Every other packet an ack, as a receiver's GRO'd bursts draw them: an ack is sealed and opened by
                // ChaChaPolyInPlace, which with one in four had not reached C2 by the warm-up's end and was compiled
                // in a first transfer's first second, both ways at once (where each side sends the other's acks).
                if ((r & 1) == 1) return linux ? ackLikeLinux : ack;
                left--;
                if (left % LARGE_EVERY == 0) return largeSuperPacketLikeLinux;
                if (((r >>> 3) & 1) == 1) return linux ? smallSuperPacketLikeLinux : smallSuperPacket;
                return linux ? superPacketLikeLinux : superPacket;
            }
            if (handshakePacket) {
                handshakePacket = false;
                return ack;
            }
            return null;
        }

        private void writeLoop() {
            try {
                while (!stopped) {
                    byte[] p = next();
                    if (p == null) {
                        // woken by the next round (or stop); the bound is only a safety net
                        LockSupport.parkNanos(this, 50_000_000L);
                    } else {
                        kernelEnd.write(p, 0, p.length);
                    }
                }
            } catch (IOException e) {
                // the device closed its end, or the warm-up ended
            }
        }

        private void readLoop() {
            byte[] buf = new byte[VirtioNetHdr.SIZE + 65_535];
            try {
                while (!stopped) {
                    int n = kernelEnd.read(buf, 0, buf.length, 5);
                    if (n > 0) delivered.addAndGet(n);
                }
            } catch (IOException e) {
                // the device closed its end
            }
        }

        /**
         * Ends the kernel side's threads, waiting for them at most {@link #STOP_WAIT_NANOS}; returns whether they ended.
         * The device's end stays open until its device closes it: a writer still in a write (its device's reader died,
         * so nothing reads) fails once that end is closed, and the next call finds it ended.
         */
        boolean stop() {
            stopped = true;
            LockSupport.unpark(writer);
            long until = System.nanoTime() + STOP_WAIT_NANOS;
            boolean interrupted = false;
            for (Thread t : new Thread[] {writer, reader}) {
                long wait;
                while (t != null && t.isAlive() && (wait = until - System.nanoTime()) > 0) {
                    try {
                        t.join(Duration.ofNanos(wait));
                    } catch (InterruptedException e) {
                        interrupted = true; // both must end before the pair's fds may close
                    }
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
            return (writer == null || !writer.isAlive()) && (reader == null || !reader.isAlive());
        }

        /** Closes both ends; the kernel's only once its threads have ended (a closed fd's number may be reused). */
        @Override
        public void close() {
            try {
                deviceEnd.close();
            } finally {
                if (stop()) kernelEnd.close();
            }
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
    }
}
