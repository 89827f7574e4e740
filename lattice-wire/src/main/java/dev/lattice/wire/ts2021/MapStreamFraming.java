package dev.lattice.wire.ts2021;

import io.airlift.compress.v3.zstd.ZstdCompressor;
import io.airlift.compress.v3.zstd.ZstdDecompressor;

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
    private static final ThreadLocal<ZstdDecompressor> DECOMPRESSOR = ThreadLocal.withInitial(ZstdDecompressor::create);

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
     * their own. Refuses output beyond 8 × {@link #MAX_MESSAGE_LEN}.
     */
    public static byte[] decompress(byte[] in) throws ControlProtocolException {
        ZstdDecompressor d = DECOMPRESSOR.get();
        long cap = MAX_MESSAGE_LEN * 8L;
        try {
            // One frame that states its size (what whole-message compression makes) decodes in one go; the
            // decompressor loops over later frames too, so it fails for lack of room if there are more.
            long size = d.getDecompressedSize(in, 0, in.length);
            if (size >= 0 && size <= cap) {
                byte[] out = new byte[(int) size];
                try {
                    int n = d.decompress(in, 0, in.length, out, 0, out.length);
                    return n == out.length ? out : java.util.Arrays.copyOf(out, n);
                } catch (RuntimeException more) {
                    // more frames than the first (or a bad one): the streaming decoder below tells which
                }
            }
            try (var z = new io.airlift.compress.v3.zstd.ZstdInputStream(new java.io.ByteArrayInputStream(in))) {
                byte[] out = z.readNBytes((int) cap + 1);
                if (out.length > cap) throw new ControlProtocolException("zstd message decompresses beyond " + cap + " bytes");
                return out;
            }
        } catch (java.io.IOException | RuntimeException e) {
            throw new ControlProtocolException("bad zstd frame", e);
        }
    }
}
