package dev.lattice.control.auth;

import dev.lattice.control.policy.CompiledPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Tags as identity at registration: which tags a new node may carry. A node's tags come from its pre-auth key or
 * from {@code --advertise-tags} (Hostinfo.RequestTags), and each must be one the policy's {@code tagOwners} lets the
 * key's user (or, for a tagged key, the key's tags) own. Refusals read as headscale's and Tailscale's:
 * {@code requested tags [tag:a tag:b] are invalid or not permitted}.
 *
 * <p>Without a policy nothing owns a tag, so advertised tags are refused (as headscale); a key's tags were chosen
 * by an admin and are kept.
 */
public final class Tags {
    private Tags() {}

    /** A registration asked for tags it may not have. */
    public static final class NotPermitted extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public NotPermitted(List<String> rejected) {
            super("requested tags [" + String.join(" ", rejected) + "] are invalid or not permitted");
        }
    }

    /**
     * The tags of a node registering with a pre-auth key.
     *
     * @param keyUserId the key's user; null for a tag-only key
     * @param keyTags the key's tags
     * @param requested the client's RequestTags
     * @return sorted, distinct; empty for a user-owned node
     */
    public static List<String> forAuthKey(Optional<CompiledPolicy> policy, Long keyUserId, List<String> keyTags,
            List<String> requested) {
        List<String> rejected = new ArrayList<>();
        if (policy.isEmpty()) {
            if (!requested.isEmpty()) throw new NotPermitted(requested);
            return sorted(keyTags, List.of());
        }
        CompiledPolicy p = policy.get();
        for (String t : keyTags) {
            // A tag-only key has no user to ask: an admin made it, so any tag the policy defines will do.
            boolean ok = keyUserId != null ? p.userMayOwnTag(keyUserId, t) : p.definedTags().contains(t);
            if (!ok) rejected.add(t);
        }
        for (String t : requested) {
            boolean ok = keyTags.isEmpty()
                    ? keyUserId != null && p.userMayOwnTag(keyUserId, t)
                    : keyTags.contains(t) || keyTags.stream().anyMatch(owner -> p.tagMayOwnTag(owner, t));
            if (!ok && !rejected.contains(t)) rejected.add(t);
        }
        if (!rejected.isEmpty()) throw new NotPermitted(rejected);
        return sorted(keyTags, requested);
    }

    /** The tags of a node a user logs in interactively: only what it advertises, and the user must own each. */
    public static List<String> forUser(Optional<CompiledPolicy> policy, long userId, List<String> requested) {
        if (requested.isEmpty()) return List.of();
        if (policy.isEmpty()) throw new NotPermitted(requested);
        List<String> rejected = requested.stream().filter(t -> !policy.get().userMayOwnTag(userId, t)).distinct().toList();
        if (!rejected.isEmpty()) throw new NotPermitted(rejected);
        return sorted(requested, List.of());
    }

    private static List<String> sorted(List<String> a, List<String> b) {
        TreeSet<String> s = new TreeSet<>(a);
        s.addAll(b);
        return List.copyOf(s);
    }
}
