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
 * per node or rare). Peers compare by identity: {@link PeerViews} hands every viewer that gets the same view the same
 * instance, and two equal peers built apart just miss, which costs an encoding, never a wrong message.
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
            if (!(o instanceof Key k) || k.changed.size() != changed.size()) return false;
            for (int i = 0; i < changed.size(); i++) if (changed.get(i) != k.changed.get(i)) return false;
            return removed.equals(k.removed) && patches.equals(k.patches) && profiles.equals(k.profiles);
        }

        @Override
        public int hashCode() {
            int h = 1;
            for (Node n : changed) h = 31 * h + System.identityHashCode(n);
            return 31 * (31 * (31 * h + removed.hashCode()) + patches.hashCode()) + profiles.hashCode();
        }
    }
}
