package dev.lattice.agent.filter;

/**
 * The few header fields the filter looks at, decoded without allocation beyond this object (tailscale's
 * {@code net/packet.Parsed} decode4/decode6). Anything malformed, truncated or shaped like a fragmentation
 * attack gets {@link #UNKNOWN} and is dropped.
 */
final class Parsed {
    static final int UNKNOWN = 0; // as ipproto.Unknown; also HOPOPT, which is never parsed
    static final int FRAGMENT = 0xff; // a non-first fragment, passed through
    static final int ICMP4 = 1, IGMP = 2, TCP = 6, UDP = 17, ICMP6 = 58, TSMP = 99, SCTP = 132;
    static final int TCP_SYN = 0x02, TCP_ACK = 0x10;
    // Later fragments may not start inside the largest IPv4 header plus a basic TCP header (RFC 1858).
    private static final int MIN_FRAG_BLOCKS = (60 + 20) / 8;

    int version; // 4, 6 or 0
    int proto = UNKNOWN;
    int srcOff, dstOff; // offsets of the addresses within the buffer
    int srcPort, dstPort;
    int tcpFlags;
    int subOff = -1; // offset of the transport header within the buffer

    static Parsed decode(byte[] b, int off, int len) {
        Parsed q = new Parsed();
        if (len < 1) return q;
        int v = (b[off] & 0xff) >>> 4;
        if (v == 4) q.decode4(b, off, len);
        else if (v == 6) q.decode6(b, off, len);
        return q;
    }

    private void decode4(byte[] b, int off, int len) {
        if (len < 20) return;
        version = 4;
        srcOff = off + 12;
        dstOff = off + 16;
        int total = u16(b, off + 2);
        int ihl = (b[off] & 0x0f) * 4;
        if (len < total || ihl < 20 || ihl > total) return;
        int p = b[off + 9] & 0xff;
        int sub = off + ihl;
        int subLen = total - ihl; // the IP length, not the buffer's, bounds the transport header
        int frag = u16(b, off + 6);
        int fragOfs = frag & 0x1fff;
        boolean moreFrags = (frag & 0x2000) != 0;
        if (fragOfs != 0) {
            proto = fragOfs < MIN_FRAG_BLOCKS ? UNKNOWN : FRAGMENT;
            return;
        }
        transport(p, b, sub, subLen, moreFrags);
    }

    private void decode6(byte[] b, int off, int len) {
        if (len < 40) return;
        version = 6;
        srcOff = off + 8;
        dstOff = off + 24;
        int total = 40 + u16(b, off + 4);
        if (len < total) return;
        int p = b[off + 6] & 0xff;
        int sub = off + 40;
        boolean moreFrags = false;
        if (p == 44) { // the Fragment extension header, only as the first next-header
            if (total < 48) return;
            int fragOfs = u16(b, sub + 2) >>> 3;
            moreFrags = (b[sub + 3] & 1) != 0;
            p = b[sub] & 0xff;
            sub += 8;
            if (fragOfs != 0) {
                proto = fragOfs < MIN_FRAG_BLOCKS ? UNKNOWN : FRAGMENT;
                return;
            }
        }
        transport(p, b, sub, off + total - sub, moreFrags);
    }

    private void transport(int p, byte[] b, int sub, int subLen, boolean moreFrags) {
        subOff = sub;
        if (version == 6 && (p == ICMP4 || p == IGMP)) {
            proto = p; // IPv4-only protocols inside IPv6: opaque, matched by protocol number only
            return;
        }
        switch (p) {
            case ICMP4, ICMP6 -> {
                if (subLen < 4) return;
                if (p == ICMP4 && version != 4 || p == ICMP6 && version != 6) {
                    // ICMP of the other family: not an ICMP we understand, keep it as an opaque protocol
                    proto = p;
                    return;
                }
            }
            case IGMP -> {
                if (subLen < 8) return;
            }
            case TCP -> {
                if (subLen < 20) return;
                srcPort = u16(b, sub);
                dstPort = u16(b, sub + 2);
                tcpFlags = b[sub + 13] & 0xff;
            }
            case UDP -> {
                if (subLen < 8) return;
                srcPort = u16(b, sub);
                dstPort = u16(b, sub + 2);
            }
            case SCTP -> {
                if (subLen < 12) return;
                srcPort = u16(b, sub);
                dstPort = u16(b, sub + 2);
            }
            case TSMP -> {
                if (moreFrags || subLen < 7) return;
            }
            case FRAGMENT, UNKNOWN -> {
                return; // 0xff on the wire is suspicious; 0 is hop-by-hop options, which we do not parse
            }
            default -> { }
        }
        proto = p;
    }

    int addrLen() {
        return version == 4 ? 4 : 16;
    }

    /** The ICMP type byte, or -1 when there is no full 8-byte ICMP header. */
    int icmpType(byte[] b, int end) {
        if (proto != ICMP4 && proto != ICMP6 || subOff + 8 > end) return -1;
        return b[subOff] & 0xff;
    }

    int icmpCode(byte[] b) {
        return b[subOff + 1] & 0xff;
    }

    static int u16(byte[] b, int off) {
        return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff);
    }
}
