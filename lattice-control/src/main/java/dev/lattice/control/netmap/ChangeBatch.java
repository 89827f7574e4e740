package dev.lattice.control.netmap;

import dev.lattice.control.state.Change;
import dev.lattice.wire.tailcfg.PeerChange;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * One fan-out tick's changes as every session needs them: which nodes changed, were patched or removed (in the order
 * they first changed, each once), and which tailnet-wide things changed. Made once per tick and shared by every
 * session, read-only: in a restart storm each session used to copy thousands of node IDs into sets of its own, N²
 * boxed IDs at once (3 million entries, hundreds of MiB, seen in a 10,000-node storm), and kept the grown tables.
 *
 * <p>The sets hold every node, a session's own too: a session takes its own node out (its changes are its self
 * node, its removal ends its stream).
 */
record ChangeBatch(boolean full, boolean policy, boolean dns, boolean derp, Set<Long> changed, Set<Long> patched,
        Set<Long> removed, Set<Long> removedAtAll, Set<Long> touched, BitSet patchedBits, SharedPatches shared) {

    /**
     * A batch of patches alone (a storm's ticks: nodes coming online) is the same delta for every session that knows
     * all the patched peers and is not one of them: its entries are looked up once, not once per session (each
     * lookup took the tailnet's lock, N² times over a storm).
     */
    boolean onlyPatches() {
        return !full && !policy && !dns && !derp && changed.isEmpty() && removed.isEmpty() && !patched.isEmpty();
    }

    /** Whether a session that knows the peers {@code known} knows every patched one. */
    boolean knowsAllPatched(BitSet known) {
        BitSet unknown = (BitSet) patchedBits.clone();
        unknown.andNot(known);
        return unknown.isEmpty();
    }

    /** The patch entries of every patched node still in the tailnet, in order: made once per batch. */
    static final class SharedPatches {
        private List<PeerChange> entries;

        synchronized List<PeerChange> entries(Function<Long, Optional<PeerChange>> patchOf, Set<Long> patched) {
            if (entries == null) {
                List<PeerChange> out = new ArrayList<>(patched.size());
                for (long id : patched) patchOf.apply(id).ifPresent(out::add);
                entries = List.copyOf(out);
            }
            return entries;
        }
    }

    List<PeerChange> sharedPatches(Function<Long, Optional<PeerChange>> patchOf) {
        return shared.entries(patchOf, patched);
    }

    /** The changes in order, as a session applied them one by one. */
    static ChangeBatch of(List<Change> changes) {
        boolean full = false, policy = false, dns = false, derp = false;
        Set<Long> changed = new LinkedHashSet<>();
        Set<Long> patched = new LinkedHashSet<>();
        Set<Long> removed = new LinkedHashSet<>();
        Set<Long> removedAtAll = new LinkedHashSet<>();
        Set<Long> touched = new LinkedHashSet<>();
        for (Change c : changes) {
            switch (c.kind()) {
                case FULL -> full = true;
                case POLICY -> policy = true;
                case DNS -> dns = true;
                case DERP -> derp = true;
                case REMOVED -> {
                    removed.add(c.nodeId());
                    removedAtAll.add(c.nodeId());
                    changed.remove(c.nodeId());
                    patched.remove(c.nodeId());
                }
                case ADDED, UPDATED -> {
                    touched.add(c.nodeId());
                    changed.add(c.nodeId());
                    removed.remove(c.nodeId());
                }
                case PATCH -> {
                    touched.add(c.nodeId());
                    patched.add(c.nodeId());
                }
            }
        }
        return new ChangeBatch(full, policy, dns, derp, Collections.unmodifiableSet(changed),
                Collections.unmodifiableSet(patched), Collections.unmodifiableSet(removed),
                Collections.unmodifiableSet(removedAtAll), Collections.unmodifiableSet(touched), bits(patched),
                new SharedPatches());
    }

    /** {@code later} applied after this (a session that missed a flush): what the changes of both add up to. */
    ChangeBatch then(ChangeBatch later) {
        Set<Long> c = new LinkedHashSet<>(changed);
        Set<Long> p = new LinkedHashSet<>(patched);
        Set<Long> r = new LinkedHashSet<>(removed);
        for (long id : later.removed) {
            c.remove(id);
            p.remove(id);
            r.add(id);
        }
        for (long id : later.changed) {
            c.add(id);
            r.remove(id);
        }
        p.addAll(later.patched);
        Set<Long> ra = new LinkedHashSet<>(removedAtAll);
        ra.addAll(later.removedAtAll);
        Set<Long> t = new LinkedHashSet<>(touched);
        t.addAll(later.touched);
        return new ChangeBatch(full || later.full, policy || later.policy, dns || later.dns, derp || later.derp,
                Collections.unmodifiableSet(c), Collections.unmodifiableSet(p), Collections.unmodifiableSet(r),
                Collections.unmodifiableSet(ra), Collections.unmodifiableSet(t), bits(p), new SharedPatches());
    }

    private static BitSet bits(Set<Long> ids) {
        BitSet b = new BitSet();
        for (long id : ids) b.set(Math.toIntExact(id));
        return b;
    }
}
