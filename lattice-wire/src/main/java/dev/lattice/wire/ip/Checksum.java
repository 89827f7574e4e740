package dev.lattice.wire.ip;

/** The Internet checksum (RFC 1071) over byte ranges, with the TCP/UDP pseudo-header. */
public final class Checksum {
    private Checksum() {}

    /** One's-complement sum of {@code b[off..off+len)} added to {@code initial}, not yet folded. */
    public static long sum(byte[] b, int off, int len, long initial) {
        long s = initial;
        int i = off;
        int end = off + len;
        for (; i + 1 < end; i += 2) s += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        if (i < end) s += (b[i] & 0xff) << 8;
        return s;
    }

    /** Folds a sum to 16 bits and complements it: the value to store in a checksum field. */
    public static int finish(long sum) {
        while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
        return (int) (~sum & 0xffff);
    }

    /** Sum of the pseudo-header for a transport segment of {@code length} bytes. */
    public static long pseudoHeader(byte[] pkt, int off, int version, int protocol, int length) {
        long s;
        if (version == 4) s = sum(pkt, off + 12, 8, 0);
        else s = sum(pkt, off + 8, 32, 0);
        return s + protocol + length;
    }
}
