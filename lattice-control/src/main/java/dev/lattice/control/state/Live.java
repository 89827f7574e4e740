package dev.lattice.control.state;

/** Runtime-only facts about a node: how many map streams it holds open (online while > 0). */
final class Live {
    int streams;
}
