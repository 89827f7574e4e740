package dev.lattice.wireguard.device;

import static dev.lattice.wireguard.device.Device.HEADROOM;
import static dev.lattice.wireguard.device.Device.MAX_PACKET;
import static dev.lattice.wireguard.device.Device.POLL_MILLIS;
import static dev.lattice.wireguard.device.Protocol.REJECT_AFTER_MESSAGES;
import static dev.lattice.wireguard.device.Protocol.REKEY_AFTER_MESSAGES;
import static dev.lattice.wireguard.device.Protocol.REKEY_AFTER_TIME;
import static dev.lattice.wireguard.device.Protocol.REKEY_TIMEOUT;

import dev.lattice.wire.ip.IpPacket;
import dev.lattice.wire.ip.TcpSegmenter;
import dev.lattice.wire.ip.VirtioNetHdr;
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

/**
 * The outbound data path, TUN to peer (wireguard-go's {@code send.go}): read IP packets from the TUN, find the
 * peer by destination address, encrypt in place into transport messages and send them. Packets with no usable
 * session are staged on the peer until a handshake completes. With TUN offloads, TSO super-packets are split
 * into segments that go out in one UDP GSO send.
 */
final class Send {
    private static final int MAX_SEGMENTS = 128;

    private final Device device;
    private final TunDevice tun;
    private final DeviceStats stats;

    Send(Device device, TunDevice tun) {
        this.device = device;
        this.tun = tun;
        this.stats = device.stats;
    }

    /** The TUN reader thread's body. */
    void readLoop() {
        if (tun.vnetHdr()) readLoopOffload();
        else readLoopPlain();
    }

    private void readLoopPlain() {
        byte[] buf = new byte[HEADROOM + MAX_PACKET + 64];
        while (!device.isClosed()) {
            int n;
            try {
                n = tun.read(buf, HEADROOM, MAX_PACKET, POLL_MILLIS);
            } catch (IOException e) {
                device.tunFailed(e);
                return;
            }
            if (n > 0) sendFromTun(buf, n);
        }
    }

    private void sendFromTun(byte[] buf, int len) {
        int v = IpPacket.version(buf, HEADROOM, len);
        if (v == 0) {
            stats.malformed.increment();
            return;
        }
        Peer p = device.allowedIps().lookup(buf, HEADROOM + IpPacket.dstOffset(v), v == 6);
        if (p == null) {
            stats.noRoute.increment();
            return;
        }
        if (p.endpoint == null) {
            stats.noEndpoint.increment();
            return;
        }
        long now = device.clock.nanoTime();
        Keypair kp = p.current;
        // Packets wait for a session (and keep their order behind those already waiting).
        long ctr = p.staged.isEmpty() && Peer.usableForSend(kp, now) ? kp.sendCounter.getAndIncrement() : -1;
        if (ctr == -1 || Long.compareUnsigned(ctr, REJECT_AFTER_MESSAGES) >= 0) {
            p.stagePacket(Arrays.copyOf(buf, HEADROOM + len + 32));
            device.scheduler.execute(p::sendStagedPackets);
            return;
        }
        encryptAndSend(p, kp, ctr, buf, len);
        keepKeyFreshSending(p, kp, ctr, now);
    }

    /** The initiator starts a new handshake once a session is old or has sent many messages. */
    private void keepKeyFreshSending(Peer p, Keypair kp, long lastCtr, long now) {
        if (kp.initiator && (Long.compareUnsigned(lastCtr, REKEY_AFTER_MESSAGES) > 0 || kp.ageNanos(now) > REKEY_AFTER_TIME)
                && now - p.lastSentHandshake >= REKEY_TIMEOUT) {
            device.scheduler.execute(() -> device.handshakes.sendInitiation(p, false));
        }
    }

    /**
     * Pads, encrypts in place and sends {@code len} plaintext bytes at {@code buf[HEADROOM..]}. The buffer must
     * have 32 spare bytes after the packet for padding and the tag.
     */
    void encryptAndSend(Peer p, Keypair kp, long ctr, byte[] buf, int len) {
        int ct = encrypt(kp, ctr, buf, len) - HEADROOM;
        if (p.endpoint == null || device.transport() == null) {
            stats.noEndpoint.increment();
            return;
        }
        p.sendBuffer(buf, 0, HEADROOM + ct);
        p.txBytes.addAndGet(HEADROOM + ct);
        p.timers.anyAuthenticatedPacketTraversal();
        p.timers.anyAuthenticatedPacketSent();
        if (len > 0) p.timers.dataSent();
    }

    /** Pads and encrypts in place into a transport message at {@code buf[0..]}; returns its length. */
    private int encrypt(Keypair kp, long ctr, byte[] buf, int len) {
        int padded = paddedLength(len, device.mtu());
        Arrays.fill(buf, HEADROOM + len, HEADROOM + padded, (byte) 0);
        WgMessage.putTransportHeader(buf, 0, kp.remoteIndex, ctr);
        return HEADROOM + TransportCipher.get().seal(kp.sendKey, ctr, buf, HEADROOM, padded);
    }

    /** wireguard-go's calculatePaddingSize, as the padded length. */
    static int paddedLength(int len, int mtu) {
        int m = WgMessage.PADDING_MULTIPLE;
        if (mtu == 0) return (len + m - 1) & ~(m - 1);
        int lastUnit = len;
        if (lastUnit > mtu) lastUnit %= mtu;
        int padded = (lastUnit + m - 1) & ~(m - 1);
        if (padded > mtu) padded = mtu;
        return len + (padded - lastUnit);
    }

    // --- with TUN offloads: TSO super-packets, UDP GSO, encryption on all cores ---------------------------

    /**
     * One TUN read's packets for one peer (a TSO super-packet split into segments, or a single packet): counters
     * are taken in read order by the reader, encryption runs on any core, the GSO send in read order.
     */
    private final class SendJob extends Pipeline.Job {
        final byte[][] segs = new byte[MAX_SEGMENTS][];
        final int[] lens = new int[MAX_SEGMENTS];
        final long[] ctrs = new long[MAX_SEGMENTS];
        /** Encrypted length of each segment, -1 for one not encrypted (staged, or crypt failed). */
        final int[] wire = new int[MAX_SEGMENTS];
        int count;
        Peer peer;
        Keypair kp;
        Endpoint ep;
        UdpSocket sock;
        long now;
        long lastCtr;

        /** Makes room for {@code n} segments of {@code cap} bytes each. */
        void ensure(int n, int cap) {
            for (int i = 0; i < n; i++) if (segs[i] == null || segs[i].length < cap) segs[i] = new byte[Math.max(cap, 2048)];
        }

        @Override
        int size() {
            return count;
        }

        @Override
        void renew() {
            Arrays.fill(segs, null);
        }

        @Override
        void crypt() {
            for (int i = 0; i < count; i++) {
                if (lens[i] >= 0) wire[i] = encrypt(kp, ctrs[i], segs[i], lens[i]);
            }
        }

        @Override
        void finish() {
            try {
                sendEncrypted(this);
            } finally {
                peer = null;
                kp = null;
                ep = null;
            }
        }
    }

    private Pipeline<SendJob> pipeline;
    /** The GSO send buffer of the in-order stage (one job finishes at a time). */
    private UdpSocket.Batch gsoBatch;

    private void readLoopOffload() {
        int vnet = VirtioNetHdr.SIZE;
        byte[] buf = new byte[HEADROOM + MAX_PACKET + 64];
        int threads = Pipeline.defaultThreads();
        gsoBatch = new UdpSocket.Batch();
        pipeline = new Pipeline<>("wg-encrypt-" + tun.name(), threads, 2 * threads + 2, SendJob::new, device.jobRenewal,
                device.background);
        try {
            while (!device.isClosed()) {
                int n;
                try {
                    n = tun.read(buf, HEADROOM - vnet, MAX_PACKET + vnet, POLL_MILLIS);
                } catch (IOException e) {
                    device.tunFailed(e);
                    return;
                }
                if (n <= vnet) continue;
                int len = n - vnet;
                VirtioNetHdr h = VirtioNetHdr.parse(buf, HEADROOM - vnet);
                SendJob job = pipeline.take();
                if (job == null) return; // closed
                boolean submitted = false;
                try {
                    if (h.gsoType() == VirtioNetHdr.GSO_NONE) {
                        if ((h.flags() & VirtioNetHdr.F_NEEDS_CSUM) != 0) TcpSegmenter.completeChecksum(h, buf, HEADROOM, len);
                        job.ensure(1, HEADROOM + len + 32);
                        System.arraycopy(buf, HEADROOM, job.segs[0], HEADROOM, len);
                        job.lens[0] = len;
                        job.count = 1;
                    } else {
                        // Room for the most segments the split can make: headers of at least 40 bytes; the
                        // kernel's hdr_len is only a hint, so each segment gets room for the largest headers.
                        int gso = h.gsoSize();
                        if (gso <= 0) throw new TcpSegmenter.MalformedException("zero gso_size");
                        job.ensure(Math.min(MAX_SEGMENTS, Math.max(1, (len - 40 + gso - 1) / gso)),
                                HEADROOM + Math.max(h.hdrLen(), 120) + gso + 96);
                        job.count = TcpSegmenter.split(h, buf, HEADROOM, len, job.segs, HEADROOM, job.lens);
                    }
                    submitted = prepare(job);
                    if (submitted) pipeline.submit(job);
                } catch (TcpSegmenter.MalformedException e) {
                    stats.malformed.increment();
                } finally {
                    if (!submitted) pipeline.giveBack(job);
                }
            }
        } finally {
            pipeline.close();
        }
    }

    /**
     * Finds the peer and session for a job's packets and takes their counters; false if the packets went
     * another way (no route, staged for a handshake, a relayed path), which happens here, in order.
     */
    private boolean prepare(SendJob job) {
        byte[] first = job.segs[0];
        int count = job.count;
        int v = IpPacket.version(first, HEADROOM, job.lens[0]);
        if (v == 0) {
            stats.malformed.add(count);
            return false;
        }
        Peer p = device.allowedIps().lookup(first, HEADROOM + IpPacket.dstOffset(v), v == 6);
        if (p == null) {
            stats.noRoute.add(count);
            return false;
        }
        Endpoint ep = p.endpoint;
        if (ep == null) {
            stats.noEndpoint.add(count);
            return false;
        }
        if (ep.isVirtual()) {
            PathSelector s = device.pathSelector();
            ep = s == null ? null : s.directPath(p.publicKey);
        }
        long now = device.clock.nanoTime();
        Keypair kp = p.current;
        UdpTransport u = device.transport();
        if (ep == null || !p.staged.isEmpty() || !Peer.usableForSend(kp, now) || !(u instanceof UdpSocket sock)) {
            pipeline.awaitIdle(); // what was read before goes out before these
            for (int i = 0; i < count; i++) sendFromTun(job.segs[i], job.lens[i]);
            return false;
        }
        for (int i = 0; i < count; i++) {
            long ctr = kp.sendCounter.getAndIncrement();
            job.wire[i] = -1;
            if (Long.compareUnsigned(ctr, REJECT_AFTER_MESSAGES) >= 0) {
                p.stagePacket(Arrays.copyOf(job.segs[i], HEADROOM + job.lens[i] + 32));
                job.lens[i] = -1;
                continue;
            }
            job.ctrs[i] = ctr;
            job.lastCtr = ctr;
        }
        job.peer = p;
        job.kp = kp;
        job.ep = ep;
        job.sock = sock;
        job.now = now;
        return true;
    }

    /** The in-order stage: sends a job's encrypted segments back to back in as few GSO sends as it can. */
    private void sendEncrypted(SendJob job) {
        UdpSocket.Batch batch = gsoBatch;
        UdpSocket sock = job.sock;
        Endpoint ep = job.ep;
        Peer p = job.peer;
        int filled = 0;
        int stride = 0;
        long sent = 0;
        for (int i = 0; i < job.count; i++) {
            int wire = job.wire[i];
            if (wire < 0) continue;
            if (filled > 0 && (wire > stride || filled + wire > UdpSocket.MAX_GSO_BYTES)) {
                if (!sock.sendSegments(batch, filled, stride, ep)) stats.sendFailed.increment();
                filled = 0;
            }
            if (filled == 0) stride = wire;
            MemorySegment.copy(job.segs[i], 0, batch.data, ValueLayout.JAVA_BYTE, filled, wire);
            filled += wire;
            sent += wire;
            if (wire < stride) { // a short datagram must be the last of a GSO send
                if (!sock.sendSegments(batch, filled, stride, ep)) stats.sendFailed.increment();
                filled = 0;
            }
        }
        if (filled > 0 && !sock.sendSegments(batch, filled, stride, ep)) stats.sendFailed.increment();
        p.txBytes.addAndGet(sent);
        p.timers.anyAuthenticatedPacketTraversal();
        p.timers.anyAuthenticatedPacketSent();
        p.timers.dataSent();
        if (!p.staged.isEmpty()) device.scheduler.execute(p::sendStagedPackets);
        keepKeyFreshSending(p, job.kp, job.lastCtr, job.now);
    }

    /** Tells the pipeline's workers to end, so that they do it while the TUN reader does (see {@link Device#close}). */
    void shutdown() {
        Pipeline<SendJob> p = pipeline;
        if (p != null) p.shutdown();
    }

    void close() {
        UdpSocket.Batch b = gsoBatch;
        if (b != null) b.close();
    }
}
