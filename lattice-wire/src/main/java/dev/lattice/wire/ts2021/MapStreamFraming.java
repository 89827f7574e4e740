package dev.lattice.wire.ts2021;

import io.airlift.compress.v3.zstd.ZstdCompressor;
import io.airlift.compress.v3.zstd.ZstdDecompressor;
import io.airlift.compress.v3.zstd.ZstdJavaCompressor;
import io.airlift.compress.v3.zstd.ZstdJavaDecompressor;
import io.airlift.compress.v3.zstd.ZstdJavaInputStream;

/**
 * Framing of MapResponse messages in a {@code /machine/map} response body: u32 <b>little-endian</b> length, then
 * the JSON, zstd-compressed when the MapRequest asked for {@code "Compress":"zstd"} (tailscale
 * {@code control/controlclient/direct.go}, headscale {@code poll.go}).
 */
public final class MapStreamFraming {
    /** The client refuses messages above 4 MiB (direct.go's decodeMsg). */
    public static final int MAX_MESSAGE_LEN = 4 << 20;

    /**
     * Level 1: map messages are compressed once per session and change, so speed beats ratio (headscale's poll.go and
     * tailscale's testcontrol both use zstdframe.FastestCompression).
     */
    /**
     * Compressors to reuse, not one per thread: a server builds maps on virtual threads, one per request, and a
     * thread-local made a native compressor (its context off the heap until a GC ran its cleaner) per full map: in a
     * 10,000-node storm the process grew by a GiB beyond its heap.
     */
    private static final java.util.concurrent.ArrayBlockingQueue<ZstdCompressor> COMPRESSORS =
            new java.util.concurrent.ArrayBlockingQueue<>(64);
    /**
     * The pure-Java decoder, never the native one: decoding is the client's side (a node's maps, a few KiB to a few
     * MiB each), and loading the native library binds all of libzstd's functions through the FFM API, ~440 classes
     * (~3 MiB of class metadata) and a copy of the library in /tmp, in every latticed.
     */
    private static final ThreadLocal<ZstdDecompressor> DECOMPRESSOR = ThreadLocal.withInitial(ZstdJavaDecompressor::new);

    private MapStreamFraming() {}

    /** One framed message: length prefix + (compressed) body. */
    public static byte[] frame(byte[] json, boolean zstd) {
        return prefixed(zstd ? compress(json) : json);
    }

    /** A message body (already compressed if it is to be) with its length prefix. */
    public static byte[] prefixed(byte[] body) {
        byte[] out = new byte[4 + body.length];
        out[0] = (byte) body.length;
        out[1] = (byte) (body.length >>> 8);
        out[2] = (byte) (body.length >>> 16);
        out[3] = (byte) (body.length >>> 24);
        System.arraycopy(body, 0, out, 4, body.length);
        return out;
    }

    public static int length(byte[] b, int off) throws ControlProtocolException {
        long len = (b[off] & 0xffL) | ((b[off + 1] & 0xffL) << 8) | ((b[off + 2] & 0xffL) << 16) | ((b[off + 3] & 0xffL) << 24);
        if (len > MAX_MESSAGE_LEN) throw new ControlProtocolException("map message too long: " + len);
        return (int) len;
    }

    /**
     * {@link #frame} compressed by the pure-Java encoder: for a client's warm-ups and test servers, which then load
     * no native library (the decoder is pure Java too); a server's maps go through {@link #compress}.
     */
    public static byte[] frameWithoutNative(byte[] json) {
        ZstdJavaCompressor c = new ZstdJavaCompressor();
        byte[] out = new byte[c.maxCompressedLength(json.length)];
        int n = c.compress(json, 0, json.length, out, 0, out.length);
        return prefixed(java.util.Arrays.copyOf(out, n));
    }

    public static byte[] compress(byte[] in) {
        ZstdCompressor c = COMPRESSORS.poll();
        if (c == null) c = ZstdCompressor.create(1);
        try {
            byte[] out = new byte[c.maxCompressedLength(in.length)];
            int n = c.compress(in, 0, in.length, out, 0, out.length);
            return java.util.Arrays.copyOf(out, n);
        } finally {
            COMPRESSORS.offer(c); // dropped when 64 are kept already
        }
    }

    /**
     * The JSON of a compressed message body, which may be several zstd frames one after another: the decoder tailscale
     * uses (klauspost's DecodeAll) decodes them all, and lattice-control sends a full map's cached peers as frames of
     * their own. Refuses output beyond 8 × {@link #MAX_MESSAGE_LEN}. Each frame is decoded on its own (the pure-Java
     * streaming decoder stops at an empty frame), into an array of the size its header states.
     */
    public static byte[] decompress(byte[] in) throws ControlProtocolException {
        ZstdDecompressor d = DECOMPRESSOR.get();
        long cap = MAX_MESSAGE_LEN * 8L;
        try {
            java.io.ByteArrayOutputStream all = null;
            int off = 0;
            while (true) {
                int end = frameEnd(in, off);
                byte[] out;
                boolean skippable = (le32(in, off) & 0xFFFFFFF0L) == 0x184D2A50L;
                long size = skippable ? 0 : d.getDecompressedSize(in, off, end - off);
                if (skippable) {
                    out = new byte[0];
                } else if (size >= 0) {
                    if (size > cap) throw new ControlProtocolException("zstd message decompresses beyond " + cap + " bytes");
                    out = new byte[(int) size];
                    int n = d.decompress(in, off, end - off, out, 0, out.length);
                    if (n != out.length) throw new ControlProtocolException("bad zstd frame: " + n + " bytes, header says " + size);
                } else { // no content size in the header: the streaming decoder, on this frame alone
                    try (var z = new ZstdJavaInputStream(new java.io.ByteArrayInputStream(in, off, end - off))) {
                        out = z.readNBytes((int) cap + 1);
                    }
                }
                if (off == 0 && end == in.length) return out;
                if (all == null) all = new java.io.ByteArrayOutputStream(Math.max(32, out.length * 2));
                if (all.size() + (long) out.length > cap) {
                    throw new ControlProtocolException("zstd message decompresses beyond " + cap + " bytes");
                }
                all.writeBytes(out);
                off = end;
                if (off == in.length) return all.toByteArray();
            }
        } catch (java.io.IOException | RuntimeException e) {
            throw new ControlProtocolException("bad zstd frame", e);
        }
    }

    /** Where the zstd frame (or skippable frame) that starts at {@code off} ends (RFC 8878 section 3.1). */
    static int frameEnd(byte[] in, int off) throws ControlProtocolException {
        if (in.length - off < 8) throw new ControlProtocolException("truncated zstd frame");
        long magic = le32(in, off);
        if ((magic & 0xFFFFFFF0L) == 0x184D2A50L) return within(in, off + 8 + le32(in, off + 4));
        if (magic != 0xFD2FB528L) throw new ControlProtocolException("not a zstd frame");
        int fhd = in[off + 4] & 0xff;
        boolean singleSegment = (fhd & 0x20) != 0;
        int fcsSize = switch (fhd >>> 6) {
            case 0 -> singleSegment ? 1 : 0;
            case 1 -> 2;
            case 2 -> 4;
            default -> 8;
        };
        int dictIdSize = new int[] {0, 1, 2, 4}[fhd & 3];
        long p = off + 5L + (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
        while (true) {
            if (p + 3 > in.length) throw new ControlProtocolException("truncated zstd frame");
            int bh = (in[(int) p] & 0xff) | (in[(int) p + 1] & 0xff) << 8 | (in[(int) p + 2] & 0xff) << 16;
            int type = (bh >>> 1) & 3;
            if (type == 3) throw new ControlProtocolException("bad zstd block type");
            p += 3 + (type == 1 ? 1 : bh >>> 3); // an RLE block holds one byte
            if ((bh & 1) != 0) break;
        }
        if ((fhd & 0x04) != 0) p += 4; // content checksum
        return within(in, p);
    }

    private static int within(byte[] in, long end) throws ControlProtocolException {
        if (end > in.length) throw new ControlProtocolException("truncated zstd frame");
        return (int) end;
    }

    private static long le32(byte[] b, int off) {
        return (b[off] & 0xffL) | (b[off + 1] & 0xffL) << 8 | (b[off + 2] & 0xffL) << 16 | (b[off + 3] & 0xffL) << 24;
    }
}
