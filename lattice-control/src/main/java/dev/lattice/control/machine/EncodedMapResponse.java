package dev.lattice.control.machine;

import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.ts2021.MapStreamFraming;

/**
 * One MapResponse encoded once for every stream that gets the same content: its JSON, and its frame (compressed or
 * not) made the first time a stream of that kind needs it. The JSON is what {@link MapSink#send(MapResponse)} would
 * write for the same message, so sharing it changes nothing on the wire; a zstd body of a message with peers is
 * built from cached per-peer frames ({@link FramedFullMap}) and decompresses to the same JSON.
 */
public final class EncodedMapResponse {
    private final byte[] json;
    /** Kept for a full map, whose zstd body is made of cached per-peer frames ({@link FramedFullMap}). */
    private final MapResponse fullMap;
    private volatile byte[] zstdFrame;
    private volatile byte[] plainFrame;

    public EncodedMapResponse(MapResponse msg) {
        this.json = Tailcfg.json().writeValueAsBytes(msg);
        this.fullMap = msg.peers() != null && msg.peers().size() >= 2 ? msg : null;
    }

    /** The JSON (not to be modified). */
    public byte[] json() {
        return json;
    }

    /** The length-prefixed frame; a race between two streams at most compresses twice, with the same result. */
    byte[] frame(boolean zstd) {
        byte[] f = zstd ? zstdFrame : plainFrame;
        if (f == null) {
            byte[] framed = zstd && fullMap != null ? FramedFullMap.body(fullMap, json) : null;
            f = framed != null ? MapStreamFraming.prefixed(framed) : MapStreamFraming.frame(json, zstd);
            if (zstd) zstdFrame = f;
            else plainFrame = f;
        }
        return f;
    }
}
