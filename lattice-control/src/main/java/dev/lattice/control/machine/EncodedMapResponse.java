package dev.lattice.control.machine;

import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.ts2021.MapStreamFraming;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;

/**
 * One MapResponse encoded once for every stream that gets the same content: its JSON, and its frame (compressed or
 * not) made the first time a stream of that kind needs it. The JSON is what {@link MapSink#send(MapResponse)} would
 * write for the same message, so sharing it changes nothing on the wire.
 *
 * <p>A full map's zstd body is made of cached peer frames ({@link FramedFullMap}) and decompresses to the same JSON;
 * its JSON is never built unless a stream without zstd (or a map too large for frames) needs it. At 10,000 nodes
 * that JSON is 7.6 MB per map against ~1.6 MB of frames, most of them shared by every session: a restart storm built
 * one per session and held as many as were in flight.
 */
public final class EncodedMapResponse {
    /** Kept for a full map, whose zstd body is made of cached per-peer frames ({@link FramedFullMap}). */
    private final MapResponse fullMap;
    /** Which of the full map's peers are shared runs with frames of their own. */
    private final List<PeerRun.At> runs;
    private volatile byte[] json;
    /** The zstd body's frames after the length prefix, the prefix first; shared frames by reference. */
    private volatile List<byte[]> zstdPieces;
    private volatile byte[] plainFrame;

    public EncodedMapResponse(MapResponse msg) {
        this(msg, List.of());
    }

    /**
     * @param runs which of a full map's peers are {@link PeerRun}s (in order, not overlapping, each where the
     *     message's peers hold it): their frames are the runs' own
     */
    public EncodedMapResponse(MapResponse msg, List<PeerRun.At> runs) {
        this.runs = runs;
        this.fullMap = msg.peers() != null && msg.peers().size() >= 2 ? msg : null;
        // Deltas are small and shared: encoded now, once. A full map's JSON waits until something needs it.
        if (fullMap == null) this.json = Tailcfg.json().writeValueAsBytes(msg);
    }

    /** The JSON (not to be modified). */
    public byte[] json() {
        byte[] j = json;
        if (j == null) json = j = Tailcfg.json().writeValueAsBytes(fullMap);
        return j;
    }

    /** The length-prefixed frame, in one array; a race between two streams at most encodes twice, with the same result. */
    byte[] frame(boolean zstd) {
        if (!zstd) return plainFrame();
        List<byte[]> pieces = zstdPieces();
        int len = 0;
        for (byte[] p : pieces) len += p.length;
        byte[] out = new byte[len];
        int at = 0;
        for (byte[] p : pieces) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** The length-prefixed frame as a buffer over the (shared) arrays: nothing is copied. */
    ByteBuf buffer(boolean zstd) {
        if (!zstd) return Unpooled.wrappedBuffer(plainFrame());
        List<byte[]> pieces = zstdPieces();
        // No limit on components: HTTP/2's flow-controlled writes append the stream's next message to this buffer
        // (CoalescingBufferQueue.compose), and past its limit (by default its own count of pieces) Netty consolidated
        // every piece into one new array: a copy of each 1.4 MB map at 10,000 nodes, a fifth of a storm's garbage.
        return pieces.size() == 1 ? Unpooled.wrappedBuffer(pieces.getFirst())
                : Unpooled.wrappedBuffer(Integer.MAX_VALUE, pieces.toArray(byte[][]::new));
    }

    /** The bytes a stream holds while this message is queued for it (shared frames counted in full). */
    public int length(boolean zstd) {
        if (!zstd) return plainFrame().length;
        int len = 0;
        for (byte[] p : zstdPieces()) len += p.length;
        return len;
    }

    private byte[] plainFrame() {
        byte[] f = plainFrame;
        if (f == null) plainFrame = f = MapStreamFraming.frame(json(), false);
        return f;
    }

    private List<byte[]> zstdPieces() {
        List<byte[]> p = zstdPieces;
        if (p == null) {
            FramedFullMap.Pieces framed = fullMap != null ? FramedFullMap.pieces(fullMap, runs) : null;
            if (framed != null) {
                byte[][] all = new byte[framed.frames().size() + 1][];
                int len = framed.length();
                // The u32 little-endian length of MapStreamFraming.prefixed, without copying the body behind it.
                all[0] = new byte[] {(byte) len, (byte) (len >>> 8), (byte) (len >>> 16), (byte) (len >>> 24)};
                for (int i = 0; i < framed.frames().size(); i++) all[i + 1] = framed.frames().get(i);
                p = List.of(all);
            } else {
                p = List.of(MapStreamFraming.frame(json(), true));
            }
            zstdPieces = p;
        }
        return p;
    }
}
