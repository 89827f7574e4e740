package dev.lattice.control.state;

import java.time.Instant;

/** Runtime-only facts about a node on this replica: how many map streams it holds open (online while > 0), since when. */
final class Live {
    int streams;
    /** The start of the node's online period: set when its first stream here opened. */
    Instant since;
}
