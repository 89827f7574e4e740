package dev.lattice.control.store;

import java.time.Instant;

/** An admin API key as stored (prefix only, never the secret). */
public record ApiKey(long id, String prefix, Instant expiration, Instant lastSeen, Instant created) {
    public boolean isExpired(Instant now) {
        return expiration != null && !now.isBefore(expiration);
    }

    public String display() {
        return SecretKeys.API.display(prefix);
    }
}
