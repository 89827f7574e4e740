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
        /** Everything may have changed (DNS, DERP map, users): every session gets a full map. */
        FULL,
        /**
         * A new compiled policy: each session sends what changed for it (filter, SSH policy, peers appearing or going,
         * peers' usable routes) as one delta, usually nothing at all.
         */
        POLICY,
        /** The DNS config changed (extra records from dns.extra_records_path): each session sends the new one. */
        DNS,
        /** The DERP map changed (derp.urls/paths reloaded): each session sends the new one. */
        DERP
    }

    public static Change full() {
        return new Change(Kind.FULL, 0);
    }

    public static Change policy() {
        return new Change(Kind.POLICY, 0);
    }

    public static Change dns() {
        return new Change(Kind.DNS, 0);
    }

    public static Change derp() {
        return new Change(Kind.DERP, 0);
    }
}
