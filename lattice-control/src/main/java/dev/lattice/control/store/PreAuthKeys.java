package dev.lattice.control.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;

/** The {@code pre_auth_keys} table: {@code lattice-auth-<prefix>-<secret>} keys, stored as prefix + SHA-256. */
public final class PreAuthKeys {
    private static final String COLUMNS = "id, prefix, hash, user_id, reusable, ephemeral, used, tags, expiration, created_at";
    private final Store store;

    PreAuthKeys(Store store) {
        this.store = store;
    }

    /**
     * Creates a key owned by {@code userId}, or a tag-only key when {@code userId} is null (then {@code tags} must
     * not be empty, as in Headscale). {@code expiration} null = never. The full key is in the result only.
     */
    public NewKey<PreAuthKey> create(Long userId, boolean reusable, boolean ephemeral, List<String> tags, Instant expiration) {
        List<String> t = tags == null ? List.of() : List.copyOf(tags);
        if (userId == null && t.isEmpty()) throw new IllegalArgumentException("a pre-auth key needs a user or at least one tag");
        for (String tag : t) {
            if (!tag.startsWith("tag:") || tag.length() == 4) throw new IllegalArgumentException("tags must look like tag:name, got \"" + tag + "\"");
        }
        SecretKeys.Generated g = SecretKeys.AUTH.generate();
        PreAuthKey key = store.write("create pre-auth key", h -> {
            long id = h.createQuery("INSERT INTO pre_auth_keys (prefix, hash, user_id, reusable, ephemeral, used, tags,"
                            + " expiration, created_at) VALUES (:prefix, :hash, :user, :reusable, :ephemeral, FALSE, :tags,"
                            + " :expiration, :created) RETURNING id")
                    .bind("prefix", g.prefix()).bind("hash", g.hash()).bind("user", userId)
                    .bind("reusable", reusable).bind("ephemeral", ephemeral).bind("tags", JsonLists.encode(t))
                    .bind("expiration", Store.millis(expiration)).bind("created", Store.millis(store.now()))
                    .mapTo(Long.class).one();
            return get(h, id).orElseThrow();
        });
        return new NewKey<>(key, g.fullKey());
    }

    public Optional<PreAuthKey> get(long id) {
        return store.read(h -> get(h, id));
    }

    public List<PreAuthKey> list() {
        return store.read(h -> h.createQuery("SELECT " + COLUMNS + " FROM pre_auth_keys ORDER BY id").map((rs, c) -> map(rs)).list());
    }

    public List<PreAuthKey> listByUser(long userId) {
        return store.read(h -> h.createQuery("SELECT " + COLUMNS + " FROM pre_auth_keys WHERE user_id = :u ORDER BY id")
                .bind("u", userId).map((rs, c) -> map(rs)).list());
    }

    /** Makes a key unusable from {@code now} on. Returns false if there is no such key. */
    public boolean expire(long id, Instant now) {
        return store.write("expire pre-auth key " + id, h -> h.createUpdate(
                        "UPDATE pre_auth_keys SET expiration = :t WHERE id = :id AND (expiration IS NULL OR expiration > :t)")
                .bind("t", Store.millis(now)).bind("id", id).execute() == 1 || get(h, id).isPresent());
    }

    public boolean delete(long id) {
        return store.write("delete pre-auth key " + id, h -> h.createUpdate("DELETE FROM pre_auth_keys WHERE id = :id")
                .bind("id", id).execute() == 1);
    }

    /**
     * Looks up a key presented at registration, with a read only: a flood of bad keys costs the database no
     * writes. Says nothing about whether the key may still be used ({@link PreAuthKey#requireUsable}); a
     * single-use key is spent by the transaction that stores its node ({@link KeyUse}).
     *
     * @throws AuthKeyException with reason UNKNOWN when the text is not a key of ours (wrong format, unknown
     *     prefix or wrong secret, indistinguishable on purpose)
     */
    public PreAuthKey find(String fullKey) {
        SecretKeys.Parsed p = SecretKeys.AUTH.parse(fullKey);
        if (p == null) throw new AuthKeyException(AuthKeyException.Reason.UNKNOWN, "invalid auth key");
        var row = store.read(h -> h.createQuery("SELECT " + COLUMNS + " FROM pre_auth_keys WHERE prefix = :p")
                .bind("p", p.prefix()).map((rs, c) -> new Row(map(rs), rs.getString("hash"))).findOne());
        if (row.isEmpty() || !SecretKeys.matches(p.secret(), row.get().hash())) {
            throw new AuthKeyException(AuthKeyException.Reason.UNKNOWN, "invalid auth key");
        }
        return row.get().key();
    }

    /**
     * Marks a single-use key used inside the caller's transaction. The update is conditional, so of two
     * transactions racing for the key only one succeeds; the other gets ALREADY_USED and rolls back.
     */
    static void spend(Handle h, KeyUse use) {
        int n = h.createUpdate("UPDATE pre_auth_keys SET used = TRUE WHERE id = :id AND used = FALSE")
                .bind("id", use.keyId()).execute();
        if (n == 0) throw new AuthKeyException(AuthKeyException.Reason.ALREADY_USED, "auth key already used");
    }

    private record Row(PreAuthKey key, String hash) {}

    private static Optional<PreAuthKey> get(Handle h, long id) {
        return h.createQuery("SELECT " + COLUMNS + " FROM pre_auth_keys WHERE id = :id").bind("id", id).map((rs, c) -> map(rs)).findOne();
    }

    private static PreAuthKey map(ResultSet rs) throws SQLException {
        return new PreAuthKey(rs.getLong("id"), rs.getString("prefix"), Store.nullableLong(rs, "user_id"),
                rs.getBoolean("reusable"), rs.getBoolean("ephemeral"), rs.getBoolean("used"),
                JsonLists.decode(rs.getString("tags"), "pre_auth_keys.tags"), Store.instant(rs, "expiration"),
                Store.instant(rs, "created_at"));
    }
}
