package dev.lattice.control.netmap;

import dev.lattice.control.machine.EncodedMapResponse;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.PeerChange;
import dev.lattice.wire.tailcfg.UserProfile;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The deltas of one fan-out tick, encoded once per distinct content: in a tick most sessions get the same peers
 * changed, patched and removed, and JSON plus zstd for each of them was most of the cost of a change.
 *
 * <p>Only deltas made of peers alone are shared (no self node, filter, SSH policy, DNS or DERP map, which are
 * per node or rare). Peers and patches compare by identity: {@link PeerViews} hands every viewer that gets the same
 * view the same instance, and two equal ones built apart just miss, which costs an encoding, never a wrong message.
 * (Hashing the content instead cost a restart storm seconds per tick: thousands of patches in each of thousands of
 * sessions.)
 */
final class SharedDeltas {
    private final ConcurrentHashMap<Key, EncodedMapResponse> encoded = new ConcurrentHashMap<>();

    /** The encoding of the delta {@code key} describes, made by {@code build} the first time. */
    EncodedMapResponse get(Key key, Supplier<MapResponse> build) {
        return encoded.computeIfAbsent(key, k -> new EncodedMapResponse(build.get()));
    }

    int size() {
        return encoded.size();
    }

    /** What a peers-only delta carries. */
    record Key(List<Node> changed, List<Long> removed, List<PeerChange> patches, List<UserProfile> profiles) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && same(changed, k.changed) && same(patches, k.patches) && removed.equals(k.removed)
                    && profiles.equals(k.profiles);
        }

        @Override
        public int hashCode() {
            int h = 1;
            for (Node n : changed) h = 31 * h + System.identityHashCode(n);
            for (PeerChange c : patches) h = 31 * h + System.identityHashCode(c);
            return 31 * (31 * h + removed.hashCode()) + profiles.hashCode();
        }

        private static boolean same(List<?> a, List<?> b) {
            if (a.size() != b.size()) return false;
            for (int i = 0; i < a.size(); i++) if (a.get(i) != b.get(i)) return false;
            return true;
        }
    }
}
