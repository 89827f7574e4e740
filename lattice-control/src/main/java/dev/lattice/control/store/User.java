package dev.lattice.control.store;

import java.time.Instant;

/**
 * A user (Headscale's "user", Tailscale's login). {@code provider} is empty for local users, e.g. {@code oidc}
 * otherwise, with {@code providerId} the identity provider's subject (null for local users).
 */
public record User(long id, String name, String displayName, String email, String provider, String providerId, Instant created) {}
