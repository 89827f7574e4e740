package dev.lattice.wire.ip;

import static dev.lattice.wire.ip.NetBytes.put16;
import static dev.lattice.wire.ip.NetBytes.u16;
import static dev.lattice.wire.ip.NetBytes.u32;

/**
 * Receive-side GRO for a TUN with IFF_VNET_HDR: merges consecutive in-order segments of one TCP flow into a
 * super-packet that the kernel takes in one write and acknowledges once (wireguard-go's tcpGRO, reduced to
 * the common case of a run of segments arriving in order). Merging follows the kernel's own GRO rules: same
 * addresses, ports, IP header fields, TCP options, ACK number and window; only ACK (and PSH on the last)
 * flags; all segments but the last of equal size; checksums verified before they are dropped in favour of a
 * NEEDS_CSUM header. Pure: it only moves bytes between arrays.
 */
public final class TcpCoalescer {
    private static final int MAX_TOTAL = 65535;
    private static final int FLAG_ACK = 0x10;
    private static final int FLAG_PSH = 0x08;

    /** The super-packet under construction: virtio header at 0, IP packet from {@link VirtioNetHdr#SIZE}. */
    private final byte[] out = new byte[VirtioNetHdr.SIZE + MAX_TOTAL];
    private int len; // IP packet bytes in out
    private int count;
    private int iphLen;
    private int tcphLen;
    private int gsoSize;
    private boolean v6;
    private long nextSeq;
    private boolean closed; // PSH or a short segment ends the run

    public boolean isEmpty() {
        return count == 0;
    }

    /**
     * Whether {@code pkt} can be merged at all (an in-order TCP data segment with a valid checksum); packets
     * that are not must be written on their own, after {@link #flush}ing.
     */
    public static boolean isCandidate(byte[] b, int off, int len) {
        if (len < 40) return false;
        int version = (b[off] & 0xff) >>> 4;
        int iph;
        if (version == 4) {
            if ((b[off] & 0x0f) != 5 || b[off + 9] != 6) return false;
            if ((b[off + 6] & 0x20) != 0 || (b[off + 6] & 0x1f) != 0 || b[off + 7] != 0) return false; // fragment
            if (u16(b, off + 2) != len) return false;
            iph = 20;
        } else if (version == 6) {
            if (len < 60 || b[off + 6] != 6) return false;
            if (u16(b, off + 4) != len - 40) return false;
            iph = 40;
        } else {
            return false;
        }
        int tcph = ((b[off + iph + 12] & 0xff) >>> 4) * 4;
        if (tcph < 20 || tcph > 60 || iph + tcph >= len) return false; // no payload: nothing to merge
        int flags = b[off + iph + 13] & 0xff;
        if (flags != FLAG_ACK && flags != (FLAG_ACK | FLAG_PSH)) return false;
        long sum = Checksum.pseudoHeader(b, off, version, 6, len - iph);
        return Checksum.finish(Checksum.sum(b, off + iph, len - iph, sum)) == 0;
    }

    /** Appends a candidate to the current run if it continues it; false if the caller must flush first. */
    public boolean tryAppend(byte[] b, int off, int pktLen) {
        if (count == 0) {
            start(b, off, pktLen);
            return true;
        }
        if (closed) return false;
        boolean pv6 = (b[off] & 0xf0) == 0x60;
        if (pv6 != v6) return false;
        int iph = v6 ? 40 : 20;
        int tcph = ((b[off + iph + 12] & 0xff) >>> 4) * 4;
        if (tcph != tcphLen) return false;
        int payload = pktLen - iph - tcph;
        if (payload > gsoSize || len + payload > MAX_TOTAL) return false;
        int h = VirtioNetHdr.SIZE;
        // IP fields that must match: v4 TOS, DF, TTL, protocol, addresses; v6 version/class, next header, hop limit, addresses.
        if (v6) {
            if (b[off] != out[h] || (b[off + 1] & 0xf0) != (out[h + 1] & 0xf0) || b[off + 7] != out[h + 7]) return false;
            if (!same(b, off + 8, out, h + 8, 32)) return false;
        } else {
            if (b[off + 1] != out[h + 1] || (b[off + 6] & 0xe0) != (out[h + 6] & 0xe0) || b[off + 8] != out[h + 8]) return false;
            if (!same(b, off + 12, out, h + 12, 8)) return false;
        }
        int t = off + iph, ht = h + iphLen;
        if (!same(b, t, out, ht, 4)) return false;                       // ports
        if (!same(b, t + 8, out, ht + 8, 4)) return false;               // ack number
        if (!same(b, t + 14, out, ht + 14, 2)) return false;             // window
        if (tcph > 20 && !same(b, t + 20, out, ht + 20, tcph - 20)) return false; // options (timestamps)
        if (u32(b, t + 4) != nextSeq) return false;
        System.arraycopy(b, t + tcph, out, h + len, payload);
        len += payload;
        count++;
        nextSeq = (nextSeq + payload) & 0xffffffffL;
        int flags = b[t + 13] & 0xff;
        if ((flags & FLAG_PSH) != 0) {
            out[ht + 13] |= FLAG_PSH;
            closed = true;
        }
        if (payload < gsoSize) closed = true;
        return true;
    }

    private void start(byte[] b, int off, int pktLen) {
        v6 = (b[off] & 0xf0) == 0x60;
        iphLen = v6 ? 40 : 20;
        tcphLen = ((b[off + iphLen + 12] & 0xff) >>> 4) * 4;
        gsoSize = pktLen - iphLen - tcphLen;
        System.arraycopy(b, off, out, VirtioNetHdr.SIZE, pktLen);
        len = pktLen;
        count = 1;
        nextSeq = (u32(b, off + iphLen + 4) + gsoSize) & 0xffffffffL;
        closed = (b[off + iphLen + 13] & FLAG_PSH) != 0;
    }

    /**
     * Finishes the run: writes the virtio header and fixes lengths and checksums. Returns the buffer holding
     * header + packet from index 0 and sets nothing else; {@link #flushedLength} tells how many bytes to write.
     * A run of one is written as a plain packet (zero header).
     */
    public byte[] flush() {
        int h = VirtioNetHdr.SIZE;
        java.util.Arrays.fill(out, 0, h, (byte) 0);
        if (count > 1) {
            out[0] = VirtioNetHdr.F_NEEDS_CSUM;
            out[1] = (byte) (v6 ? VirtioNetHdr.GSO_TCPV6 : VirtioNetHdr.GSO_TCPV4);
            put16le(out, 2, iphLen + tcphLen);
            put16le(out, 4, gsoSize);
            put16le(out, 6, iphLen);
            put16le(out, 8, 16);
            if (v6) {
                put16(out, h + 4, len - 40);
            } else {
                put16(out, h + 2, len);
                put16(out, h + 10, 0);
                put16(out, h + 10, Checksum.finish(Checksum.sum(out, h, 20, 0)));
            }
            // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, not complemented.
            long ps = Checksum.pseudoHeader(out, h, v6 ? 6 : 4, 6, len - iphLen);
            int folded = ~Checksum.finish(ps) & 0xffff;
            put16(out, h + iphLen + 16, folded);
        }
        flushedLength = h + len;
        count = 0;
        len = 0;
        closed = false;
        return out;
    }

    /** Bytes (virtio header + packet) of the last {@link #flush}. */
    public int flushedLength;

    /** Segments merged in the current run. */
    public int count() {
        return count;
    }

    private static boolean same(byte[] a, int ao, byte[] b, int bo, int n) {
        return java.util.Arrays.equals(a, ao, ao + n, b, bo, bo + n);
    }




    private static void put16le(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
    }
}
