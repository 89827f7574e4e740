package dev.lattice.control.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;

/** The {@code api_keys} table: {@code lattice-api-<prefix>-<secret>} keys for the admin API. */
public final class ApiKeys {
    private static final String COLUMNS = "id, prefix, hash, expiration, last_seen, created_at";
    private final Store store;

    ApiKeys(Store store) {
        this.store = store;
    }

    /** {@code expiration} null = never. The full key is in the result only. */
    public NewKey<ApiKey> create(Instant expiration) {
        SecretKeys.Generated g = SecretKeys.API.generate();
        ApiKey key = store.write("create API key", h -> {
            long id = h.createQuery("INSERT INTO api_keys (prefix, hash, expiration, created_at) VALUES (:p, :h, :e, :c) RETURNING id")
                    .bind("p", g.prefix()).bind("h", g.hash()).bind("e", Store.millis(expiration))
                    .bind("c", Store.millis(store.now())).mapTo(Long.class).one();
            return get(h, id).orElseThrow();
        });
        return new NewKey<>(key, g.fullKey());
    }

    public List<ApiKey> list() {
        return store.read(h -> h.createQuery("SELECT " + COLUMNS + " FROM api_keys ORDER BY id").map((rs, c) -> map(rs)).list());
    }

    public Optional<ApiKey> get(long id) {
        return store.read(h -> get(h, id));
    }

    /** Makes a key unusable from {@code now} on; false if there is no such key. */
    public boolean expire(long id, Instant now) {
        return store.write("expire API key " + id, h -> h.createUpdate(
                        "UPDATE api_keys SET expiration = :t WHERE id = :id AND (expiration IS NULL OR expiration > :t)")
                .bind("t", Store.millis(now)).bind("id", id).execute() == 1 || get(h, id).isPresent());
    }

    public boolean delete(long id) {
        return store.write("delete API key " + id, h -> h.createUpdate("DELETE FROM api_keys WHERE id = :id").bind("id", id).execute() == 1);
    }

    /** Checks a presented key and records {@code now} as its last use. Throws {@link AuthKeyException} (UNKNOWN, EXPIRED). */
    public ApiKey verify(String fullKey, Instant now) {
        SecretKeys.Parsed p = SecretKeys.API.parse(fullKey);
        if (p == null) throw new AuthKeyException(AuthKeyException.Reason.UNKNOWN, "invalid API key");
        return store.write("verify API key", h -> {
            var row = h.createQuery("SELECT " + COLUMNS + " FROM api_keys WHERE prefix = :p").bind("p", p.prefix())
                    .map((rs, c) -> new Row(map(rs), rs.getString("hash"))).findOne();
            if (row.isEmpty() || !SecretKeys.matches(p.secret(), row.get().hash())) {
                throw new AuthKeyException(AuthKeyException.Reason.UNKNOWN, "invalid API key");
            }
            if (row.get().key().isExpired(now)) throw new AuthKeyException(AuthKeyException.Reason.EXPIRED, "API key expired");
            h.createUpdate("UPDATE api_keys SET last_seen = :t WHERE id = :id").bind("t", Store.millis(now))
                    .bind("id", row.get().key().id()).execute();
            return get(h, row.get().key().id()).orElseThrow();
        });
    }

    private record Row(ApiKey key, String hash) {}

    private static Optional<ApiKey> get(Handle h, long id) {
        return h.createQuery("SELECT " + COLUMNS + " FROM api_keys WHERE id = :id").bind("id", id).map((rs, c) -> map(rs)).findOne();
    }

    private static ApiKey map(ResultSet rs) throws SQLException {
        return new ApiKey(rs.getLong("id"), rs.getString("prefix"), Store.instant(rs, "expiration"),
                Store.instant(rs, "last_seen"), Store.instant(rs, "created_at"));
    }
}
