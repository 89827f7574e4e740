package dev.lattice.wire.ip;

import static dev.lattice.wire.ip.NetBytes.put16;
import static dev.lattice.wire.ip.NetBytes.put32;
import static dev.lattice.wire.ip.NetBytes.u16;
import static dev.lattice.wire.ip.NetBytes.u32;

/**
 * Cuts a TCP super-packet read from a TUN with TSO enabled into MTU-sized segments, as the kernel would have
 * (wireguard-go {@code tun/offload_linux.go} gsoSplit): each segment gets its own IP length, IPv4 id and header
 * checksum, TCP sequence number and a full TCP checksum; FIN and PSH stay only on the last segment. Also
 * completes the checksum of a single packet the kernel marked NEEDS_CSUM. Pure: bytes in, bytes out.
 */
public final class TcpSegmenter {
    private static final int TCP_FLAG_FIN = 0x01;
    private static final int TCP_FLAG_PSH = 0x08;

    private TcpSegmenter() {}

    /** Thrown for a super-packet whose headers do not add up; the caller drops it. */
    public static final class MalformedException extends Exception {
        public MalformedException(String message) {
            super(message, null, false, false);
        }
    }

    /** Completes the transport checksum the kernel left partial (pseudo-header sum already in the field). */
    public static void completeChecksum(VirtioNetHdr h, byte[] pkt, int off, int len) throws MalformedException {
        int start = h.csumStart();
        int field = start + h.csumOffset();
        if (start >= len || field + 2 > len) throw new MalformedException("checksum offsets beyond packet");
        long s = Checksum.sum(pkt, off + start, len - start, 0);
        int c = Checksum.finish(s);
        pkt[off + field] = (byte) (c >>> 8);
        pkt[off + field + 1] = (byte) c;
    }

    /**
     * Writes the segments of the super-packet {@code pkt[off..off+len)} into {@code out[i]} at {@code outOff}
     * and their lengths into {@code outLens[i]}; returns the number of segments. Each {@code out[i]} must hold
     * {@code outOff + hdrLen + gsoSize} bytes.
     */
    public static int split(VirtioNetHdr h, byte[] pkt, int off, int len, byte[][] out, int outOff, int[] outLens)
            throws MalformedException {
        int version = IpPacket.version(pkt, off, len);
        int type = h.gsoType() & ~VirtioNetHdr.GSO_ECN;
        if (type != VirtioNetHdr.GSO_TCPV4 && type != VirtioNetHdr.GSO_TCPV6) throw new MalformedException("unsupported GSO type " + type);
        boolean v4 = type == VirtioNetHdr.GSO_TCPV4;
        if (version != (v4 ? 4 : 6)) throw new MalformedException("GSO type does not match IP version");
        int ipHeaderLen = v4 ? (pkt[off] & 0x0f) * 4 : IpPacket.IPV6_HEADER;
        if (ipHeaderLen < 20 || h.csumStart() != ipHeaderLen) throw new MalformedException("unexpected csum_start");
        if (ipHeaderLen + 20 > len) throw new MalformedException("truncated TCP header");
        int tcpHeaderLen = ((pkt[off + ipHeaderLen + 12] & 0xff) >>> 4) * 4;
        int hdrLen = ipHeaderLen + tcpHeaderLen; // hdr_len from the kernel is only a hint
        if (tcpHeaderLen < 20 || hdrLen > len) throw new MalformedException("bad TCP header length");
        int gso = h.gsoSize();
        if (gso <= 0) throw new MalformedException("zero gso_size");
        int payload = len - hdrLen;
        int count = Math.max(1, (payload + gso - 1) / gso);
        if (count > out.length) throw new MalformedException("too many segments: " + count);
        long seq0 = u32(pkt, off + ipHeaderLen + 4);
        int ipId0 = v4 ? u16(pkt, off + 4) : 0;
        int flags = pkt[off + ipHeaderLen + 13] & 0xff;
        for (int i = 0; i < count; i++) {
            int segPayload = Math.min(gso, payload - i * gso);
            int segLen = hdrLen + segPayload;
            byte[] o = out[i];
            if (o.length < outOff + segLen) throw new MalformedException("segment buffer too small");
            System.arraycopy(pkt, off, o, outOff, hdrLen);
            System.arraycopy(pkt, off + hdrLen + i * gso, o, outOff + hdrLen, segPayload);
            if (v4) {
                put16(o, outOff + 2, segLen);
                put16(o, outOff + 4, (ipId0 + i) & 0xffff);
                put16(o, outOff + 10, 0);
                put16(o, outOff + 10, Checksum.finish(Checksum.sum(o, outOff, ipHeaderLen, 0)));
            } else {
                put16(o, outOff + 4, segLen - IpPacket.IPV6_HEADER);
            }
            int tcp = outOff + ipHeaderLen;
            put32(o, tcp + 4, seq0 + (long) i * gso);
            if (i != count - 1) o[tcp + 13] = (byte) (flags & ~(TCP_FLAG_FIN | TCP_FLAG_PSH));
            put16(o, tcp + 16, 0);
            int tcpLen = segLen - ipHeaderLen;
            long s = Checksum.pseudoHeader(o, outOff, v4 ? 4 : 6, 6, tcpLen);
            put16(o, tcp + 16, Checksum.finish(Checksum.sum(o, tcp, tcpLen, s)));
            outLens[i] = segLen;
        }
        return count;
    }




}
