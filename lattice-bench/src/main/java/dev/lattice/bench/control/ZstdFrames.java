package dev.lattice.bench.control;

/**
 * Where a zstd frame ends (RFC 8878 §3.1), without decompressing it: the frame header, then blocks whose headers
 * say their sizes, then the optional checksum. Skippable frames are stepped over too.
 */
final class ZstdFrames {
    private static final int MAGIC = 0xFD2FB528;

    private ZstdFrames() {}

    /** The offset just past the frame that starts at {@code off}. */
    static int end(byte[] b, int off) {
        int magic = le(b, off, 4);
        if ((magic & 0xFFFFFFF0) == 0x184D2A50) return off + 8 + le(b, off + 4, 4); // skippable
        if (magic != MAGIC) throw new IllegalArgumentException("not a zstd frame at " + off);
        int p = off + 4;
        int fhd = b[p++] & 0xff;
        int fcsFlag = fhd >>> 6;
        boolean singleSegment = (fhd & 0x20) != 0;
        boolean checksum = (fhd & 0x04) != 0;
        int dictIdFlag = fhd & 3;
        if (!singleSegment) p++; // window descriptor
        p += new int[] {0, 1, 2, 4}[dictIdFlag];
        p += switch (fcsFlag) {
            case 0 -> singleSegment ? 1 : 0;
            case 1 -> 2;
            case 2 -> 4;
            default -> 8;
        };
        while (true) {
            int h = le(b, p, 3);
            p += 3;
            int type = (h >>> 1) & 3;
            int size = h >>> 3;
            if (type == 3) throw new IllegalArgumentException("reserved zstd block type at " + (p - 3));
            p += type == 1 ? 1 : size; // an RLE block is one byte repeated
            if ((h & 1) != 0) break;
        }
        return checksum ? p + 4 : p;
    }

    private static int le(byte[] b, int at, int n) {
        int v = 0;
        for (int i = 0; i < n; i++) v |= (b[at + i] & 0xff) << (8 * i);
        return v;
    }
}
