package dev.lattice.control.store;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * A node's ACL tags ({@code tag:name}), distinct and in the order they were given (the order clients see in
 * tailcfg.Node.Tags). Empty for a node owned by a user; a tagged node is owned by its tags.
 *
 * <p>Every tag must start with {@code tag:}: what the policy, pre-auth keys and the admin API all guarantee. Stricter
 * rules (lowercase, no spaces) belong to the inputs that create tags, not here, so tags stored under a rule that was
 * once looser still load. Immutable; {@link #names()} hands out one shared list, so a node's tags cost nothing to
 * put on the wire for every peer.
 */
public final class NodeTags implements Iterable<String> {
    public static final NodeTags NONE = new NodeTags(List.of());
    private static final String PREFIX = "tag:";

    private final List<String> names;

    private NodeTags(List<String> names) {
        this.names = names;
    }

    /**
     * The tags in {@code tags}, duplicates dropped (the first one stays).
     *
     * @throws IllegalArgumentException when one is null or does not start with {@code tag:}
     */
    public static NodeTags of(Collection<String> tags) {
        if (tags == null || tags.isEmpty()) return NONE;
        LinkedHashSet<String> distinct = new LinkedHashSet<>();
        for (String t : tags) {
            if (t == null || !t.startsWith(PREFIX)) {
                throw new IllegalArgumentException("tags must look like tag:name, got \"" + t + "\"");
            }
            distinct.add(t);
        }
        return new NodeTags(List.copyOf(new ArrayList<>(distinct)));
    }

    public static NodeTags of(String... tags) {
        return of(List.of(tags));
    }

    public boolean isEmpty() {
        return names.isEmpty();
    }

    public int size() {
        return names.size();
    }

    public boolean contains(String tag) {
        return names.contains(tag);
    }

    /** The tags in order; unmodifiable, and the same instance on every call. */
    public List<String> names() {
        return names;
    }

    @Override
    public Iterator<String> iterator() {
        return names.iterator();
    }

    @Override
    public boolean equals(Object o) {
        return o == this || o instanceof NodeTags t && names.equals(t.names);
    }

    @Override
    public int hashCode() {
        return names.hashCode();
    }

    @Override
    public String toString() {
        return names.toString();
    }
}
