package dev.lattice.control.machine;

import dev.lattice.wire.tailcfg.Node;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Consecutive peers of a full map that many maps hold alike (the netmap keeps one per run of node IDs while its peers
 * stay the same), with their zstd frames made the first time a map needs them and then shared: a map made of runs
 * is framed without looking at its peers one by one ({@link FramedFullMap#pieces(MapResponse, List)}).
 */
public final class PeerRun {
    private final Node[] members;
    private final List<Node> view;
    /** {@code ","} + each peer's JSON, compressed: the run anywhere but first. */
    private volatile FramedFullMap.Run framed;
    /** The same without the leading comma: the run that opens the peers. */
    private volatile FramedFullMap.Run opening;

    /** @param members the peers in map order (IDs ascending), at least one; the array is not copied and must not change */
    public PeerRun(Node[] members) {
        if (members.length == 0) throw new IllegalArgumentException("an empty run");
        this.members = members;
        this.view = Collections.unmodifiableList(Arrays.asList(members));
    }

    /** The peers, unmodifiable. */
    public List<Node> members() {
        return view;
    }

    public int size() {
        return members.length;
    }

    /** Where a run sits among a map's peers: at index {@code start} of its {@code Peers}. */
    public record At(int start, PeerRun run) {}

    FramedFullMap.Run framed(boolean first) {
        FramedFullMap.Run r = first ? opening : framed;
        if (r == null) {
            // A race compresses twice, with the same result.
            r = FramedFullMap.compress(members, !first);
            if (first) opening = r;
            else framed = r;
        }
        return r;
    }
}
