package dev.lattice.wire.ip;

/**
 * Allocation-free views of raw IPv4/IPv6 packet headers, as read from a TUN device. Callers pass the buffer,
 * offset and length; methods never read past {@code len}.
 */
public final class IpPacket {
    public static final int IPV4_HEADER_MIN = 20;
    public static final int IPV6_HEADER = 40;

    private IpPacket() {}

    /** 4 or 6, or 0 when the packet is too short for its version's header. */
    public static int version(byte[] b, int off, int len) {
        if (len < 1) return 0;
        int v = (b[off] & 0xff) >>> 4;
        if (v == 4 && len >= IPV4_HEADER_MIN) return 4;
        if (v == 6 && len >= IPV6_HEADER) return 6;
        return 0;
    }

    /** Offset of the destination address within the packet (4 bytes for IPv4, 16 for IPv6). */
    public static int dstOffset(int version) {
        return version == 4 ? 16 : 24;
    }

    /** Offset of the source address within the packet. */
    public static int srcOffset(int version) {
        return version == 4 ? 12 : 8;
    }

    /** The length the header claims for the whole packet, or -1 when it cannot be read. */
    public static int totalLength(byte[] b, int off, int len) {
        int v = version(b, off, len);
        if (v == 4) return ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
        if (v == 6) return IPV6_HEADER + (((b[off + 4] & 0xff) << 8) | (b[off + 5] & 0xff));
        return -1;
    }
}
