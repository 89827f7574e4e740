package dev.lattice.control.store;

import java.time.Instant;
import java.util.List;

/**
 * A user (Headscale's "user", Tailscale's login). {@code provider} is empty for local users, {@code oidc} for users
 * from an identity provider, with {@code providerId} their identity there (Headscale's form: issuer URL + "/" +
 * subject; null for local users). {@code profilePicUrl} and {@code groups} (the identity provider's groups claim at
 * the last login) are empty for local users.
 */
public record User(long id, String name, String displayName, String email, String provider, String providerId, Instant created,
                   String profilePicUrl, List<String> groups) {
    public static final String PROVIDER_OIDC = "oidc";

    public User {
        profilePicUrl = profilePicUrl == null ? "" : profilePicUrl;
        groups = groups == null ? List.of() : List.copyOf(groups);
    }

    /** A user without picture or groups (a local user). */
    public User(long id, String name, String displayName, String email, String provider, String providerId, Instant created) {
        this(id, name, displayName, email, provider, providerId, created, "", List.of());
    }
}
