package dev.lattice.wireguard.device;

import static dev.lattice.wireguard.device.Device.HEADROOM;
import static dev.lattice.wireguard.device.Device.MAX_PACKET;
import static dev.lattice.wireguard.device.Device.POLL_MILLIS;
import static dev.lattice.wireguard.device.Protocol.KEEPALIVE_TIMEOUT;
import static dev.lattice.wireguard.device.Protocol.REJECT_AFTER_MESSAGES;
import static dev.lattice.wireguard.device.Protocol.REJECT_AFTER_TIME;
import static dev.lattice.wireguard.device.Protocol.REKEY_TIMEOUT;

import dev.lattice.wire.ip.IpPacket;
import dev.lattice.wire.ip.TcpCoalescer;
import dev.lattice.wire.ip.VirtioNetHdr;
import dev.lattice.wire.wireguard.CookieReply;
import dev.lattice.wire.wireguard.WgMessage;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.conn.PathSelector;
import dev.lattice.wireguard.conn.UdpSocket;
import dev.lattice.wireguard.conn.UdpTransport;
import dev.lattice.wireguard.tun.TunDevice;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inbound data path, peer to TUN (wireguard-go's {@code receive.go}): read datagrams from the UDP socket (or
 * from DERP), decrypt transport messages in place, check the replay window and the source address against the
 * peer's AllowedIPs, and write the packets to the TUN. Handshake messages go to {@link Handshakes}. With TUN
 * offloads, UDP GRO batches come in and TCP segments of one flow are coalesced before the TUN write.
 */
final class Receive {
    private static final Logger log = LoggerFactory.getLogger(Receive.class);

    private final Device device;
    private final TunDevice tun;
    private final DeviceStats stats;

    Receive(Device device, TunDevice tun) {
        this.device = device;
        this.tun = tun;
        this.stats = device.stats;
    }

    // The UDP reader thread's own.
    private final byte[] datagram = new byte[MAX_PACKET + 64];
    private final byte[] source = new byte[Endpoint.SOCKADDR_LEN];
    private final int[] sourceLen = new int[1];
    private final int[] segSize = new int[1];
    private UdpSocket.Batch batch;

    /**
     * The UDP reader thread's body. Each turn is a method of its own ({@link #receiveBatch}, {@link #receiveOne}):
     * with the turn's loop over a batch inside this loop, a new device's reader, idling in the outer loop, had C2
     * compile the whole (OSR at the outer loop's head, some 150-250 ms of C2) at its first transfer, as the start-up
     * warm-up's readers had only ever entered compiled code at the inner loop's head.
     */
    void readLoop() {
        while (!device.isClosed()) {
            UdpTransport u = device.transport();
            boolean more = u instanceof UdpSocket s && s.groEnabled() ? receiveBatch(s) : receiveOne(u);
            if (!more) break;
        }
        if (pipeline != null) pipeline.close();
        if (batch != null) batch.close();
    }

    /** One wait for a UDP GRO batch and what it holds; false when the reader must end. */
    private boolean receiveBatch(UdpSocket s) {
        if (batch == null) {
            batch = new UdpSocket.Batch();
            int threads = Pipeline.defaultThreads();
            coalescer = tun.vnetHdr() ? new TcpCoalescer() : null;
            pipeline = new Pipeline<>("wg-decrypt-" + tun.name(), threads, 2 * threads + 2, ReceiveJob::new,
                    device.jobRenewal, device.background);
        }
        int n;
        try {
            n = s.receiveBatch(batch, source, segSize, POLL_MILLIS);
        } catch (IOException e) {
            return goesOnAfter(e, s);
        }
        if (n < 0) return true;
        ReceiveJob job = pipeline.take();
        if (job == null) return false; // closed
        job.count = 0;
        int seg = segSize[0] > 0 ? segSize[0] : n;
        for (int off = 0; off < n; off += seg) {
            int l = Math.min(seg, n - off);
            if (l >= WgMessage.TRANSPORT_HEADER_SIZE && batch.data.get(ValueLayout.JAVA_BYTE, off) == WgMessage.TYPE_TRANSPORT
                    && job.count < ReceiveJob.MAX) {
                int k = job.count++;
                if (job.bufs[k] == null || job.bufs[k].length < l + 64) job.bufs[k] = new byte[Math.max(l + 64, 2048)];
                MemorySegment.copy(batch.data, ValueLayout.JAVA_BYTE, off, job.bufs[k], 0, l);
                job.lens[k] = l;
                continue;
            }
            // handshakes, cookies, disco: not transport data, so order with it does not matter
            MemorySegment.copy(batch.data, ValueLayout.JAVA_BYTE, off, datagram, 0, l);
            try {
                receiveDatagram(datagram, l, source, null);
            } catch (RuntimeException e) {
                stats.malformed.increment();
                log.debug("dropped datagram after error", e);
            }
        }
        if (job.count == 0) {
            pipeline.giveBack(job);
            return true;
        }
        System.arraycopy(source, 0, job.src, 0, source.length);
        pipeline.submit(job);
        return true;
    }

    /** Whether the reader goes on after a failed receive on {@code u}: only if the device moved to a new socket. */
    private boolean goesOnAfter(IOException e, UdpTransport u) {
        if (device.isClosed()) return false;
        if (u != device.transport()) return true; // rebound to a new port
        log.warn("UDP receive failed: {}", e.getMessage());
        return false;
    }

    /** One wait for a single datagram (no UDP GRO) and its handling; false when the reader must end. */
    private boolean receiveOne(UdpTransport u) {
        int n;
        try {
            n = u.receive(datagram, 0, MAX_PACKET, source, sourceLen, POLL_MILLIS);
        } catch (IOException e) {
            return goesOnAfter(e, u);
        }
        if (n < 0) return true;
        try {
            receiveDatagram(datagram, n, source, null);
        } catch (RuntimeException e) {
            // A bug must not take the device down on one bad datagram.
            stats.malformed.increment();
            log.debug("dropped datagram after error", e);
        }
        return true;
    }

    /**
     * One UDP GRO batch's transport messages: sessions are found and packets decrypted on any core; the replay
     * window, timers and TUN writes happen in arrival order.
     */
    private final class ReceiveJob extends Pipeline.Job {
        static final int MAX = 128;
        final byte[][] bufs = new byte[MAX][];
        final int[] lens = new int[MAX];
        final Keypair[] kps = new Keypair[MAX];
        final long[] ctrs = new long[MAX];
        /** Plaintext length of each message, -1 for one dropped (counted) or not decrypted. */
        final int[] pts = new int[MAX];
        final byte[] src = new byte[Endpoint.SOCKADDR_LEN];
        int count;

        @Override
        int size() {
            return count;
        }

        @Override
        void renew() {
            Arrays.fill(bufs, null);
        }

        @Override
        void crypt() {
            for (int i = 0; i < count; i++) {
                pts[i] = -1;
                byte[] b = bufs[i];
                Keypair kp = session(b, lens[i]);
                kps[i] = kp;
                if (kp == null) continue;
                long ctr = WgMessage.getU64(b, WgMessage.TRANSPORT_OFFSET_COUNTER);
                ctrs[i] = ctr;
                pts[i] = open(kp, ctr, b, lens[i]);
            }
        }

        @Override
        void finish() {
            TcpCoalescer gro = coalescer;
            for (int i = 0; i < count; i++) {
                Keypair kp = kps[i];
                int pt = pts[i];
                kps[i] = null; // no session kept alive by a pooled job
                pts[i] = -1;
                if (kp == null || pt < 0) continue;
                int len = accept(kp, ctrs[i], bufs[i], lens[i], pt, src);
                if (len > 0) deliver(bufs[i], len, gro);
            }
            if (gro != null) {
                try {
                    flushCoalesced(gro);
                } catch (IOException e) {
                    if (!device.isClosed()) log.debug("TUN write failed: {}", e.getMessage());
                }
            }
        }
    }

    private Pipeline<ReceiveJob> pipeline;
    /** The TCP coalescer of the in-order stage (null without TUN offloads). */
    private TcpCoalescer coalescer;

    /** Tells the pipeline's workers to end, so that they do it while the UDP reader does (see {@link Device#close}). */
    void shutdown() {
        Pipeline<ReceiveJob> p = pipeline;
        if (p != null) p.shutdown();
    }

    void close() {
        Pipeline<ReceiveJob> p = pipeline;
        if (p != null) p.close();
    }

    /** One datagram at {@code buf[0..n)} from the socket address {@code src}; gro is null without offloads. */
    void receiveDatagram(byte[] buf, int n, byte[] src, TcpCoalescer gro) {
        int type = WgMessage.classify(buf, 0, n);
        switch (type) {
            case WgMessage.TYPE_TRANSPORT -> {
                int len = receiveTransport(buf, n, src);
                if (len > 0) deliver(buf, len, gro);
            }
            case WgMessage.TYPE_INITIATION, WgMessage.TYPE_RESPONSE -> device.handshakes.enqueue(buf, n, src);
            case WgMessage.TYPE_COOKIE_REPLY -> receiveCookieReply(buf, n);
            default -> {
                PathSelector s = device.pathSelector();
                if (s == null || !s.receiveOther(buf, 0, n, src)) stats.malformed.increment();
            }
        }
    }

    /** Authenticates and decrypts a transport message in place; returns the IP packet length to deliver, or 0. */
    private int receiveTransport(byte[] buf, int n, byte[] src) {
        Keypair kp = session(buf, n);
        if (kp == null) return 0;
        long ctr = WgMessage.getU64(buf, WgMessage.TRANSPORT_OFFSET_COUNTER);
        int pt = open(kp, ctr, buf, n);
        return pt < 0 ? 0 : accept(kp, ctr, buf, n, pt, src);
    }

    /** The session a transport message is for, if it is one still good for receiving; else counts and null. */
    private Keypair session(byte[] buf, int n) {
        IndexTable.Entry e = device.indices.lookup(WgMessage.getU32(buf, WgMessage.TRANSPORT_OFFSET_RECEIVER));
        if (e == null || e.keypair() == null) {
            stats.unknownIndex.increment();
            return null;
        }
        Keypair kp = e.keypair();
        if (kp.ageNanos(device.clock.nanoTime()) >= REJECT_AFTER_TIME) {
            stats.expiredKeypair.increment();
            return null;
        }
        return kp;
    }

    /** Decrypts in place (the part that may run on any core); the plaintext length, or -1 (counted). */
    private int open(Keypair kp, long ctr, byte[] buf, int n) {
        if (Long.compareUnsigned(ctr, REJECT_AFTER_MESSAGES) >= 0) {
            stats.replayed.increment();
            return -1;
        }
        int pt = TransportCipher.get().open(kp.recvKey, ctr, buf, HEADROOM, n - HEADROOM);
        if (pt < 0) stats.decryptFailed.increment();
        return pt;
    }

    /**
     * What follows decryption, in arrival order: the replay window, roaming, session confirmation, timers and
     * the source address check. Returns the IP packet length to deliver, or 0.
     */
    private int accept(Keypair kp, long ctr, byte[] buf, int n, int pt, byte[] src) {
        Peer p = kp.peer;
        long now = device.clock.nanoTime();
        boolean fresh;
        synchronized (kp.replay) { // the UDP reader and DERP deliver concurrently
            fresh = kp.replay.validate(ctr, REJECT_AFTER_MESSAGES);
        }
        if (!fresh) {
            stats.replayed.increment();
            return 0;
        }
        p.updateEndpointFrom(src);
        if (p.receivedWithKeypair(kp)) {
            p.timers.handshakeComplete();
            device.scheduler.execute(p::sendStagedPackets);
        }
        // keepKeyFreshReceiving
        if (kp.initiator && p.current == kp && !p.timers.sentLastMinuteHandshake
                && kp.ageNanos(now) > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
            p.timers.sentLastMinuteHandshake = true;
            device.scheduler.execute(() -> device.handshakes.sendInitiation(p, false));
        }
        p.timers.anyAuthenticatedPacketTraversal();
        p.timers.anyAuthenticatedPacketReceived();
        p.rxBytes.addAndGet(n);
        if (pt == 0) return 0; // keepalive
        p.timers.dataReceived();
        int v = IpPacket.version(buf, HEADROOM, pt);
        int total = IpPacket.totalLength(buf, HEADROOM, pt);
        if (v == 0 || total > pt || total < (v == 4 ? IpPacket.IPV4_HEADER_MIN : IpPacket.IPV6_HEADER)) {
            stats.malformed.increment();
            return 0;
        }
        if (device.allowedIps().lookup(buf, HEADROOM + IpPacket.srcOffset(v), v == 6) != p) {
            stats.disallowedSource.increment();
            return 0;
        }
        return total;
    }

    /**
     * Writes a decrypted packet at {@code buf[HEADROOM..HEADROOM+len)} to the TUN. With a coalescer (TUN
     * offload mode), TCP segments of one flow are held back and merged; {@link #flushCoalesced} writes them.
     */
    private void deliver(byte[] buf, int len, TcpCoalescer gro) {
        try {
            if (gro != null && TcpCoalescer.isCandidate(buf, HEADROOM, len)) {
                if (gro.tryAppend(buf, HEADROOM, len)) return;
                flushCoalesced(gro);
                gro.tryAppend(buf, HEADROOM, len);
                return;
            }
            if (gro != null) flushCoalesced(gro);
            if (tun.vnetHdr()) {
                Arrays.fill(buf, HEADROOM - VirtioNetHdr.SIZE, HEADROOM, (byte) 0); // no offload for this packet
                tun.write(buf, HEADROOM - VirtioNetHdr.SIZE, len + VirtioNetHdr.SIZE);
            } else {
                tun.write(buf, HEADROOM, len);
            }
        } catch (IOException ex) {
            if (!device.isClosed()) log.debug("TUN write failed: {}", ex.getMessage());
        }
    }

    private void flushCoalesced(TcpCoalescer gro) throws IOException {
        if (gro.isEmpty()) return;
        byte[] out = gro.flush();
        tun.write(out, 0, gro.flushedLength);
    }

    private void receiveCookieReply(byte[] buf, int n) {
        CookieReply r = CookieReply.parse(buf, 0, n);
        IndexTable.Entry e = device.indices.lookup(r.receiver());
        if (e == null) {
            stats.unknownIndex.increment();
            return;
        }
        if (!e.peer().cookies.consumeReply(r)) stats.handshakeRejected.increment();
    }
}
