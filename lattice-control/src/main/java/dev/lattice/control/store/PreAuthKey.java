package dev.lattice.control.store;

import java.time.Instant;
import java.util.List;

/**
 * A pre-auth key as stored: never the secret. {@code userId} is null for tag-only keys (the node is owned by
 * its tags). {@code prefix} identifies the key in listings ({@code lattice-auth-<prefix>-***}).
 */
public record PreAuthKey(long id, String prefix, Long userId, boolean reusable, boolean ephemeral, boolean used,
                         List<String> tags, Instant expiration, Instant created) {
    public PreAuthKey {
        tags = List.copyOf(tags);
    }

    public boolean isExpired(Instant now) {
        return expiration != null && !now.isBefore(expiration);
    }

    /**
     * Refuses a key that may not register a new node at {@code now}, in headscale's order: expired, then (single-use
     * keys) already used.
     *
     * @throws AuthKeyException with reason EXPIRED or ALREADY_USED
     */
    public void requireUsable(Instant now) {
        if (isExpired(now)) throw new AuthKeyException(AuthKeyException.Reason.EXPIRED, "auth key expired");
        if (!reusable && used) throw new AuthKeyException(AuthKeyException.Reason.ALREADY_USED, "auth key already used");
    }

    /** The redacted form shown in listings. */
    public String display() {
        return SecretKeys.AUTH.display(prefix);
    }
}
