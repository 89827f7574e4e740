package dev.lattice.control.machine;

import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.ts2021.MapStreamFraming;

/**
 * One MapResponse encoded once for every stream that gets the same content: its JSON, and its frame (compressed or
 * not) made the first time a stream of that kind needs it. The bytes are what {@link MapSink#send(MapResponse)}
 * would write for the same message, so sharing them changes nothing on the wire.
 */
public final class EncodedMapResponse {
    private final byte[] json;
    private volatile byte[] zstdFrame;
    private volatile byte[] plainFrame;

    public EncodedMapResponse(MapResponse msg) {
        this.json = Tailcfg.json().writeValueAsBytes(msg);
    }

    /** The JSON (not to be modified). */
    public byte[] json() {
        return json;
    }

    /** The length-prefixed frame; a race between two streams at most compresses twice, with the same result. */
    byte[] frame(boolean zstd) {
        byte[] f = zstd ? zstdFrame : plainFrame;
        if (f == null) {
            f = MapStreamFraming.frame(json, zstd);
            if (zstd) zstdFrame = f;
            else plainFrame = f;
        }
        return f;
    }
}
