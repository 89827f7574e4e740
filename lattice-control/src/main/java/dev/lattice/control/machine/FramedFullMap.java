package dev.lattice.control.machine;

import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.PeerJsonCache;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.ts2021.MapStreamFraming;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A full map's zstd body as concatenated zstd frames: one made for this session holding everything up to and
 * including the first peer, one per further peer compressed once per peer view and shared by every session (its
 * JSON with the separating comma in front), and one for the rest. In a restart storm of N nodes each full map was
 * compressed whole, N² peer encodings through zstd; now each peer is compressed once. The decoders accept
 * concatenated frames (tailscale's zstdframe → klauspost DecodeAll, {@link MapStreamFraming#decompress}), and the
 * decompressed bytes are the message's JSON exactly.
 *
 * <p>Peers compressed alone compress worse than in a whole map; a map whose frames would not fit the client's 4 MiB
 * message limit (with room to spare) is compressed whole instead.
 */
final class FramedFullMap {
    /** Above this the framed body is given up for whole-message compression (the client refuses > 4 MiB). */
    static final int MAX_FRAMED = MapStreamFraming.MAX_MESSAGE_LEN - (MapStreamFraming.MAX_MESSAGE_LEN >> 3);
    static final int MAX_ENTRIES = 1 << 15;
    private static final byte[] PEERS_EMPTY = "\"Peers\":[]".getBytes(StandardCharsets.UTF_8);
    private static final ConcurrentHashMap<Same, byte[]> COMPRESSED = new ConcurrentHashMap<>();

    /** A peer view compared by identity, as {@link PeerJsonCache} looks it up first. */
    private record Same(Node node) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Same s && s.node == node;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(node);
        }
    }

    private FramedFullMap() {}

    /**
     * The zstd body of {@code msg}, whose JSON is {@code json}, as concatenated frames; null when it has fewer than two
     * peers, the JSON is not laid out as expected, or the frames would be too large (the caller compresses whole).
     */
    static byte[] body(MapResponse msg, byte[] json) {
        List<Node> peers = msg.peers();
        if (peers == null || peers.size() < 2) return null;
        // Everything but the peers, to learn where they sit in the full JSON: the same bytes before and after.
        byte[] bare = Tailcfg.json().writeValueAsBytes(msg.toBuilder().peers(List.of()).build());
        int at = indexOf(bare, PEERS_EMPTY);
        if (at < 0) return null;
        int headLen = at + PEERS_EMPTY.length - 1; // through '['
        int tailLen = bare.length - headLen; // from ']'
        byte[] first = PeerJsonCache.utf8(peers.get(0));
        long peerBytes = first.length;
        for (int i = 1; i < peers.size(); i++) peerBytes += 1 + PeerJsonCache.utf8(peers.get(i)).length;
        if (headLen + peerBytes + tailLen != json.length) return null;

        ByteArrayOutputStream out = new ByteArrayOutputStream(peers.size() * 256);
        out.writeBytes(MapStreamFraming.compress(java.util.Arrays.copyOf(json, headLen + first.length)));
        for (int i = 1; i < peers.size(); i++) {
            out.writeBytes(compressed(peers.get(i)));
            if (out.size() > MAX_FRAMED) return null;
        }
        out.writeBytes(MapStreamFraming.compress(java.util.Arrays.copyOfRange(json, json.length - tailLen, json.length)));
        return out.size() > MAX_FRAMED ? null : out.toByteArray();
    }

    /** {@code ","} + the peer's JSON, compressed once per peer view. */
    static byte[] compressed(Node peer) {
        Same key = new Same(peer);
        byte[] z = COMPRESSED.get(key);
        if (z == null) {
            byte[] j = PeerJsonCache.utf8(peer);
            byte[] withComma = new byte[j.length + 1];
            withComma[0] = ',';
            System.arraycopy(j, 0, withComma, 1, j.length);
            z = MapStreamFraming.compress(withComma);
            // Starting over when full, like PeerJsonCache: only costs compressing again.
            if (COMPRESSED.size() >= MAX_ENTRIES) COMPRESSED.clear();
            COMPRESSED.put(key, z);
        }
        return z;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int k = 0; k < needle.length; k++) if (hay[i + k] != needle[k]) continue outer;
            return i;
        }
        return -1;
    }
}
