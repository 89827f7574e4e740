package dev.lattice.wire.ip;

/**
 * The {@code struct virtio_net_hdr} that a TUN device opened with IFF_VNET_HDR puts before each packet
 * (10 bytes, little-endian): it tells which checksum the kernel left to us and how a TSO super-packet is to
 * be cut into segments.
 */
public record VirtioNetHdr(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset) {
    public static final int SIZE = 10;
    public static final int F_NEEDS_CSUM = 1;
    public static final int GSO_NONE = 0;
    public static final int GSO_TCPV4 = 1;
    public static final int GSO_UDP = 3;
    public static final int GSO_TCPV6 = 4;
    public static final int GSO_UDP_L4 = 5;
    public static final int GSO_ECN = 0x80;

    public static VirtioNetHdr parse(byte[] b, int off) {
        return new VirtioNetHdr(b[off] & 0xff, b[off + 1] & 0xff, u16(b, off + 2), u16(b, off + 4),
                u16(b, off + 6), u16(b, off + 8));
    }

    private static int u16(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8;
    }
}
