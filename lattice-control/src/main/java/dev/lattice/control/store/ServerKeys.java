package dev.lattice.control.store;

/**
 * The {@code server_keys} table: the server's own private keys kept in the database, so that every replica on one
 * PostgreSQL database presents the same Noise and DERP identity. Values are the keys' text form
 * ({@code privkey:<hex>}); whoever can read the database can read them, as whoever can read the data directory can
 * read the key files.
 */
public final class ServerKeys {
    /** The ts2021 Noise key. */
    public static final String NOISE = "noise";
    /** The embedded DERP server's key. */
    public static final String DERP = "derp";

    private final Store store;

    ServerKeys(Store store) {
        this.store = store;
    }

    /**
     * The key stored under {@code name}, storing {@code candidate} first if there is none: race-free across replicas
     * (the first insert wins, every later one keeps the stored value).
     */
    public String getOrInsert(String name, String candidate) {
        return store.write("store server key " + name, h -> {
            h.createUpdate("INSERT INTO server_keys (name, private_key, created_at) VALUES (:n, :k, :t)"
                            + " ON CONFLICT (name) DO NOTHING")
                    .bind("n", name).bind("k", candidate).bind("t", Store.millis(store.now())).execute();
            return h.createQuery("SELECT private_key FROM server_keys WHERE name = :n").bind("n", name)
                    .mapTo(String.class).one();
        });
    }
}
