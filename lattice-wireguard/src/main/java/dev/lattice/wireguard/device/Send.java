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

    // --- with TUN offloads: TSO super-packets, UDP GSO ---------------------------------------------------

    private void readLoopOffload() {
        int vnet = VirtioNetHdr.SIZE;
        byte[] buf = new byte[HEADROOM + MAX_PACKET + 64];
        byte[][] segs = new byte[MAX_SEGMENTS][];
        int[] lens = new int[MAX_SEGMENTS];
        int segCap = 0;
        try (UdpSocket.Batch batch = new UdpSocket.Batch()) {
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
                try {
                    if (h.gsoType() == VirtioNetHdr.GSO_NONE) {
                        if ((h.flags() & VirtioNetHdr.F_NEEDS_CSUM) != 0) TcpSegmenter.completeChecksum(h, buf, HEADROOM, len);
                        sendFromTun(buf, len);
                        continue;
                    }
                    int need = HEADROOM + h.hdrLen() + h.gsoSize() + 96;
                    if (need > segCap) {
                        segCap = Math.max(need, 2048);
                        for (int i = 0; i < MAX_SEGMENTS; i++) segs[i] = new byte[segCap];
                    }
                    int count = TcpSegmenter.split(h, buf, HEADROOM, len, segs, HEADROOM, lens);
                    sendSegments(segs, lens, count, batch);
                } catch (TcpSegmenter.MalformedException e) {
                    stats.malformed.increment();
                }
            }
        }
    }

    /** Sends TSO segments of one flow: one peer lookup, then encrypted back to back in one GSO send. */
    private void sendSegments(byte[][] segs, int[] lens, int count, UdpSocket.Batch batch) {
        byte[] first = segs[0];
        int v = IpPacket.version(first, HEADROOM, lens[0]);
        Peer p = device.allowedIps().lookup(first, HEADROOM + IpPacket.dstOffset(v), v == 6);
        if (p == null) {
            stats.noRoute.add(count);
            return;
        }
        Endpoint ep = p.endpoint;
        if (ep == null) {
            stats.noEndpoint.add(count);
            return;
        }
        if (ep.isVirtual()) {
            PathSelector s = device.pathSelector();
            ep = s == null ? null : s.directPath(p.publicKey);
        }
        long now = device.clock.nanoTime();
        Keypair kp = p.current;
        UdpTransport u = device.transport();
        if (ep == null || !p.staged.isEmpty() || !Peer.usableForSend(kp, now) || !(u instanceof UdpSocket sock)) {
            for (int i = 0; i < count; i++) sendFromTun(segs[i], lens[i]);
            return;
        }
        int filled = 0;
        int stride = 0;
        long sent = 0;
        long lastCtr = 0;
        for (int i = 0; i < count; i++) {
            long ctr = kp.sendCounter.getAndIncrement();
            if (Long.compareUnsigned(ctr, REJECT_AFTER_MESSAGES) >= 0) {
                p.stagePacket(Arrays.copyOf(segs[i], HEADROOM + lens[i] + 32));
                continue;
            }
            lastCtr = ctr;
            int wire = encrypt(kp, ctr, segs[i], lens[i]);
            if (filled > 0 && (wire > stride || filled + wire > UdpSocket.MAX_GSO_BYTES)) {
                if (!sock.sendSegments(batch, filled, stride, ep)) stats.sendFailed.increment();
                filled = 0;
            }
            if (filled == 0) stride = wire;
            MemorySegment.copy(segs[i], 0, batch.data, ValueLayout.JAVA_BYTE, filled, wire);
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
        keepKeyFreshSending(p, kp, lastCtr, now);
    }
}
