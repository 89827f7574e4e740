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
 * including the first peer, one per run of further peers by ID ({@link #GROUP}) compressed once per set of peer
 * views and shared by every session (each peer's JSON with the separating comma in front), and one for the rest. In a
 * restart storm of N nodes each full map was compressed whole, N² peer encodings through zstd; now each run is
 * compressed about once. The decoders accept concatenated frames (tailscale's zstdframe → klauspost DecodeAll,
 * {@link MapStreamFraming#decompress}), and the decompressed bytes are the message's JSON exactly.
 *
 * <p>Runs compress worse than a whole map; a map whose frames would not fit the client's 4 MiB
 * message limit (with room to spare) is compressed whole instead.
 */
final class FramedFullMap {
    /** Above this the framed body is given up for whole-message compression (the client refuses > 4 MiB). */
    static final int MAX_FRAMED = MapStreamFraming.MAX_MESSAGE_LEN - (MapStreamFraming.MAX_MESSAGE_LEN >> 3);
    /**
     * Runs kept (at most {@link #GROUP} × ~140 bytes each): 4,096 cover 10,000 nodes' runs for both capability
     * generations (~320 runs, and ~2,500 smaller ones around the viewers) and bound what stale runs (of views since
     * replaced) hold to ~35 MiB.
     */
    static final int MAX_ENTRIES = 1 << 12;
    private static final byte[] PEERS_EMPTY = "\"Peers\":[]".getBytes(StandardCharsets.UTF_8);
    /**
     * Peers are compressed in runs by ID (IDs {@code k·GROUP} to {@code (k+1)·GROUP − 1}), not one by one: a peer
     * alone compresses to ~3.5× what it takes in a whole map, which would pass the client's 4 MiB limit near 7,500
     * peers; runs keep most of the whole map's ratio. Runs by ID rather than by position are the same for viewers
     * whose lists differ only in themselves.
     */
    static final int GROUP = 64;
    /**
     * The run holding the viewer lacks the viewer, so it is its own alone: that one run is cut into smaller runs by ID
     * instead ({@code SELF_GROUP}), all but one of them shared again, so that a session compresses ~16 peers of its own
     * rather than ~64. Runs of 64 take ~12% fewer bytes than runs of 16 (zstd level 1, peers of the storm bench:
     * 133 against 152 bytes a peer; a whole map 130): bytes every stream seals, sends and its client opens.
     */
    static final int SELF_GROUP = 16;
    private static final ConcurrentHashMap<Group, Run> COMPRESSED = new ConcurrentHashMap<>();

    /** Consecutive peer views compared by identity, as {@link PeerJsonCache} looks them up first. */
    private record Group(Node[] members) {
        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Group g) || g.members.length != members.length) return false;
            for (int i = 0; i < members.length; i++) if (g.members[i] != members[i]) return false;
            return true;
        }

        @Override
        public int hashCode() {
            int h = 1;
            for (Node n : members) h = 31 * h + System.identityHashCode(n);
            return h;
        }
    }

    private FramedFullMap() {}

    /**
     * The zstd body of {@code msg} as concatenated frames, built without the message's whole JSON: the head (everything
     * before the peers, and the first peer) and the tail (after the peers) come from the message without peers, and
     * the peers between them are the cached runs, the very arrays other sessions send (not copies). Null when it has
     * fewer than two peers, a peer has no ID, or the frames would be too large (the caller compresses whole).
     *
     * <p>This relies on the peers being written exactly as {@link PeerJsonCache} encodes them, comma-separated between
     * the brackets of {@code "Peers":[]}; {@link #body(MapResponse, byte[])} checks that against a JSON, and the tests
     * check it for every shape of map they build.
     */
    static Pieces pieces(MapResponse msg) {
        return pieces(msg, List.of());
    }

    /**
     * As {@link #pieces(MapResponse)}, where {@code runs} (in order, not overlapping) say which of the peers are
     * {@link PeerRun}s: those come as the runs' own frames, without a look at their peers.
     */
    static Pieces pieces(MapResponse msg, List<PeerRun.At> runs) {
        List<Node> peers = msg.peers();
        if (peers == null || peers.size() < 2) return null;
        // Everything but the peers: the same bytes before and after the peers as in the whole JSON.
        byte[] bare = Tailcfg.json().writeValueAsBytes(msg.toBuilder().peers(List.of()).build());
        int at = indexOf(bare, PEERS_EMPTY);
        if (at < 0) return null;
        int headLen = at + PEERS_EMPTY.length - 1; // through '['
        int r = 0;
        PeerRun.At next = runs.isEmpty() ? null : runs.getFirst();
        byte[] head;
        int i;
        if (next != null && next.start() == 0) {
            head = java.util.Arrays.copyOf(bare, headLen); // the run opens the peers, without a comma
            i = 0;
        } else {
            byte[] first = PeerJsonCache.utf8(peers.get(0));
            head = java.util.Arrays.copyOf(bare, headLen + first.length);
            System.arraycopy(first, 0, head, headLen, first.length);
            i = 1;
        }

        Long self = msg.node() != null ? msg.node().id() : null;
        List<byte[]> frames = new java.util.ArrayList<>(2 + peers.size() / GROUP * 2 + 2);
        frames.add(MapStreamFraming.compress(head));
        long size = frames.getFirst().length;
        long jsonLength = head.length + (bare.length - headLen);
        while (i < peers.size()) {
            if (next != null && next.start() == i) {
                PeerRun run = next.run();
                if (i + run.size() > peers.size() || peers.get(i) != run.members().getFirst()) {
                    throw new IllegalArgumentException("run at " + i + " is not among the peers");
                }
                Run z = run.framed(i == 0);
                frames.add(z.zstd);
                size += z.zstd.length;
                jsonLength += z.rawLength;
                if (size > MAX_FRAMED) return null;
                i += run.size();
                next = ++r < runs.size() ? runs.get(r) : null;
                continue;
            }
            if (next != null && next.start() < i) throw new IllegalArgumentException("runs out of order at " + i);
            int limit = next != null ? next.start() : peers.size();
            Long id = peers.get(i).id();
            if (id == null) return null;
            // Runs by ID; near the viewer smaller ones (SELF_GROUP).
            int group = self != null && Math.floorDiv(self, GROUP) == Math.floorDiv(id, GROUP) ? SELF_GROUP : GROUP;
            long bucket = Math.floorDiv(id, group);
            // The run's ID range, compared rather than divided per peer: a 64-bit division for each of 10,000 peers
            // in each of 10,000 maps was the hottest line of a storm's map building.
            long lo = bucket * group, hi = lo + group;
            int end = i + 1;
            for (Long nextId; end < limit && (nextId = peers.get(end).id()) != null && nextId >= lo && nextId < hi; ) end++;
            Node[] members = peers.subList(i, end).toArray(Node[]::new);
            // The viewer's own bucket lacks the viewer: only this session sends it, so it is not worth keeping.
            boolean shared = self == null || Math.floorDiv(self, group) != bucket;
            Run run = shared ? compressed(members) : compress(members, true);
            frames.add(run.zstd);
            size += run.zstd.length;
            jsonLength += run.rawLength;
            if (size > MAX_FRAMED) return null;
            i = end;
        }
        if (next != null) throw new IllegalArgumentException("run at " + next.start() + " past the peers");
        byte[] tail = MapStreamFraming.compress(java.util.Arrays.copyOfRange(bare, headLen, bare.length));
        frames.add(tail);
        size += tail.length;
        if (size > MAX_FRAMED) return null;
        return new Pieces(List.copyOf(frames), (int) size, jsonLength);
    }

    /**
     * A framed body: its frames in order (shared ones by reference, not to be modified), their total length, and the
     * length of the JSON they decompress to.
     */
    record Pieces(List<byte[]> frames, int length, long jsonLength) {
        /** The frames copied into one array. */
        byte[] concatenated() {
            byte[] out = new byte[length];
            int at = 0;
            for (byte[] f : frames) {
                System.arraycopy(f, 0, out, at, f.length);
                at += f.length;
            }
            return out;
        }
    }

    /**
     * As {@link #pieces}, in one array, after checking that the frames hold exactly {@code json}'s layout (the peers
     * where {@code json} has them): null if not.
     */
    static byte[] body(MapResponse msg, byte[] json) {
        return body(msg, List.of(), json);
    }

    /** As {@link #body(MapResponse, byte[])} with {@code runs} as in {@link #pieces(MapResponse, List)}. */
    static byte[] body(MapResponse msg, List<PeerRun.At> runs, byte[] json) {
        Pieces p = pieces(msg, runs);
        if (p == null || p.jsonLength != json.length) return null;
        byte[] bare = Tailcfg.json().writeValueAsBytes(msg.toBuilder().peers(List.of()).build());
        int headLen = indexOf(bare, PEERS_EMPTY) + PEERS_EMPTY.length - 1;
        int tailLen = bare.length - headLen;
        if (!java.util.Arrays.equals(bare, 0, headLen, json, 0, headLen)
                || !java.util.Arrays.equals(bare, headLen, bare.length, json, json.length - tailLen, json.length)) {
            return null;
        }
        return p.concatenated();
    }

    /** A run's frame and the length of the JSON it holds. */
    record Run(byte[] zstd, int rawLength) {}

    /** {@code ","} + each peer's JSON, compressed once per run of peer views. */
    static Run compressed(Node... members) {
        Group key = new Group(members);
        Run z = COMPRESSED.get(key);
        if (z == null) {
            z = compress(members, true);
            // Starting over when full, like PeerJsonCache: only costs compressing again.
            if (COMPRESSED.size() >= MAX_ENTRIES) COMPRESSED.clear();
            COMPRESSED.put(key, z);
        }
        return z;
    }

    /** Each peer's JSON with a comma in front of each ({@code leadingComma}) or only between them. */
    static Run compress(Node[] members, boolean leadingComma) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(members.length * 800);
        for (int i = 0; i < members.length; i++) {
            if (leadingComma || i > 0) b.write(',');
            b.writeBytes(PeerJsonCache.utf8(members[i]));
        }
        return new Run(MapStreamFraming.compress(b.toByteArray()), b.size());
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
