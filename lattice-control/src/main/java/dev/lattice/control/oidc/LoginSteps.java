package dev.lattice.control.oidc;

import java.time.Instant;
import java.util.Optional;

/**
 * An OIDC login between the browser's pages: what {@code /register/ID} started it with (until the callback), and what
 * the confirmation button must carry (until it is pressed). Each is taken once, and only within {@code ttl}.
 */
interface LoginSteps {
    record Started(String authId, OidcProvider.Request request, Instant created) {}

    record Confirmation(long userId, Instant nodeExpiry, String csrf, Instant created) {}

    void started(String state, Started s);

    /** The login started with {@code state}, once, if not expired. */
    Optional<Started> takeStarted(String state, Instant now);

    void confirming(String authId, Confirmation c);

    /** The confirmation waiting for {@code authId}, once, if not expired and {@code csrf} is its token. */
    Optional<Confirmation> takeConfirmation(String authId, String csrf, Instant now);

    static boolean constantTimeEquals(String a, String b) {
        return java.security.MessageDigest.isEqual(a.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                b.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
