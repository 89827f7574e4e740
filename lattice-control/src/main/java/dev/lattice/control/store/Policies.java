package dev.lattice.control.store;

import java.util.Optional;

/** The stored policy for {@code policy.mode: database}: one current document, replaced as a whole. */
public final class Policies {
    private final Store store;

    Policies(Store store) {
        this.store = store;
    }

    public Optional<StoredPolicy> get() {
        return store.read(h -> h.createQuery("SELECT id, data, updated_at FROM policies ORDER BY id DESC LIMIT 1")
                .map((rs, c) -> new StoredPolicy(rs.getLong("id"), rs.getString("data"), Store.instant(rs, "updated_at")))
                .findOne());
    }

    /** Replaces the policy (validation is the caller's job: the text is stored verbatim). */
    public StoredPolicy set(String data) {
        if (data == null) throw new IllegalArgumentException("policy must not be null");
        return store.write("store policy", h -> {
            long now = Store.millis(store.now());
            long id = h.createQuery("INSERT INTO policies (data, updated_at) VALUES (:d, :t) RETURNING id")
                    .bind("d", data).bind("t", now).mapTo(Long.class).one();
            h.createUpdate("DELETE FROM policies WHERE id < :id").bind("id", id).execute();
            store.changes().append(h, ChangeLog.Kind.POLICY, null);
            return new StoredPolicy(id, data, java.time.Instant.ofEpochMilli(now));
        });
    }
}
