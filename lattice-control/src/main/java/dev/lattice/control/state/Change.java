package dev.lattice.control.state;

/**
 * One thing that changed in the tailnet, as the map sessions need to know it. {@code PATCH} changes fit a
 * PeersChangedPatch (endpoints, home DERP, disco key, online); {@code UPDATED} needs the whole node again.
 */
public record Change(Kind kind, long nodeId) {
    public enum Kind {
        ADDED,
        UPDATED,
        PATCH,
        REMOVED,
        /** Everything may have changed (DNS, DERP map, policy, users): every session gets a full map. */
        FULL
    }

    public static Change full() {
        return new Change(Kind.FULL, 0);
    }
}
