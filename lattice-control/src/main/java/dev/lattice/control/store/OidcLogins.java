package dev.lattice.control.store;

import java.time.Instant;
import java.util.Optional;

/**
 * The {@code oidc_logins} table, PostgreSQL only: an OIDC login's state between the browser's pages (what the login
 * started with, what the confirmation button must carry), so that each page may be served by another replica. The
 * values are opaque text to this class; each row is taken (deleted) once.
 */
public final class OidcLogins {
    private final Store store;

    OidcLogins(Store store) {
        this.store = store;
    }

    /** Stores {@code value} under ({@code step}, {@code key}), replacing any, and deletes rows created before {@code expired}. */
    public void put(String step, String key, String value, Instant created, Instant expired) {
        store.write("store OIDC login", h -> {
            h.createUpdate("DELETE FROM oidc_logins WHERE created_at < :t").bind("t", Store.millis(expired)).execute();
            return h.createUpdate("INSERT INTO oidc_logins (step, login_key, login_value, created_at) VALUES (:s, :k, :v, :c)"
                            + " ON CONFLICT (step, login_key) DO UPDATE SET login_value = EXCLUDED.login_value,"
                            + " created_at = EXCLUDED.created_at")
                    .bind("s", step).bind("k", key).bind("v", value).bind("c", Store.millis(created)).execute();
        });
    }

    /** The value under ({@code step}, {@code key}) if created at or after {@code notBefore}; it stays. */
    public Optional<String> get(String step, String key, Instant notBefore) {
        return store.read(h -> h.createQuery("SELECT login_value FROM oidc_logins WHERE step = :s AND login_key = :k"
                        + " AND created_at >= :t")
                .bind("s", step).bind("k", key).bind("t", Store.millis(notBefore)).mapTo(String.class).findOne());
    }

    /** Deletes the row if it still holds {@code value}: true for exactly one caller, on any replica. */
    public boolean take(String step, String key, String value) {
        return store.write("take OIDC login", h -> h.createUpdate(
                        "DELETE FROM oidc_logins WHERE step = :s AND login_key = :k AND login_value = :v")
                .bind("s", step).bind("k", key).bind("v", value).execute()) > 0;
    }
}
