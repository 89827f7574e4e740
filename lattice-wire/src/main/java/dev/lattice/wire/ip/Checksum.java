package dev.lattice.wire.ip;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;

/** The Internet checksum (RFC 1071) over byte ranges, with the TCP/UDP pseudo-header. */
public final class Checksum {
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private Checksum() {}

    /**
     * One's-complement sum of {@code b[off..off+len)} added to {@code initial}, not yet folded. The data path
     * checksums every TCP segment it splits or merges, so this reads 8 bytes at a time and adds their two 32-bit
     * halves: 2^16 = 1 modulo 0xffff, so the folded result is that of the 16-bit sum RFC 1071 describes. A 64 KiB
     * range adds at most 2^46, far from overflow.
     */
    public static long sum(byte[] b, int off, int len, long initial) {
        long s = initial;
        int i = off;
        int end = off + len;
        Objects.checkFromIndexSize(off, len, b.length);
        for (; i + 8 <= end; i += 8) {
            long w = (long) LONG_BE.get(b, i);
            s += (w >>> 32) + (w & 0xffffffffL);
        }
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
