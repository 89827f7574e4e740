package dev.lattice.control.store;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * The {@code derp_replicas} table, PostgreSQL only: each replica's embedded DERP server, keyed by its URL, with a
 * heartbeat on the database's clock (so replicas' clocks need not agree). A replica whose heartbeat is older than
 * the lapse is no longer listed.
 */
public final class DerpReplicas {
    /** The database's clock in milliseconds since the epoch (clock_timestamp: the time of the statement, not the transaction's start). */
    private static final String NOW_MS = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

    /** One live replica's DERP server: its URL, the replica that last wrote the row, its DERPNode JSON. */
    public record Entry(URI url, String replica, String nodeJson) {}

    private final Store store;

    DerpReplicas(Store store) {
        this.store = store;
    }

    /**
     * Writes this replica's row with a fresh heartbeat. Returns the replica id the row held before, or null when there
     * was none: another id after this replica's own earlier heartbeat means a second live replica has the same URL.
     */
    public String heartbeat(URI url, String nodeJson) {
        requirePostgres();
        return store.write("derp replica heartbeat", h -> {
            String before = h.createQuery("SELECT replica FROM derp_replicas WHERE url = :u FOR UPDATE")
                    .bind("u", url.toString()).mapTo(String.class).findOne().orElse(null);
            h.createUpdate("INSERT INTO derp_replicas (url, replica, node, heartbeat_at) VALUES (:u, :r, :n, " + NOW_MS + ")"
                            + " ON CONFLICT (url) DO UPDATE SET replica = excluded.replica, node = excluded.node,"
                            + " heartbeat_at = excluded.heartbeat_at")
                    .bind("u", url.toString()).bind("r", store.replicaId()).bind("n", nodeJson).execute();
            return before;
        });
    }

    /** The replicas whose heartbeat is younger than {@code lapse}, by URL; rows lapsed for over a minute are deleted. */
    public List<Entry> live(Duration lapse) {
        requirePostgres();
        return store.write("derp replicas", h -> {
            h.createUpdate("DELETE FROM derp_replicas WHERE heartbeat_at < " + NOW_MS + " - :old")
                    .bind("old", lapse.toMillis() + 60_000).execute();
            return h.createQuery("SELECT url, replica, node FROM derp_replicas WHERE heartbeat_at > " + NOW_MS + " - :lapse"
                            + " ORDER BY url")
                    .bind("lapse", lapse.toMillis())
                    .map((rs, ctx) -> new Entry(URI.create(rs.getString("url")), rs.getString("replica"), rs.getString("node")))
                    .list();
        });
    }

    /** Removes this replica's row (a clean shutdown), if it still holds it. */
    public void remove(URI url) {
        requirePostgres();
        store.write("derp replica leaves", h -> h.createUpdate("DELETE FROM derp_replicas WHERE url = :u AND replica = :r")
                .bind("u", url.toString()).bind("r", store.replicaId()).execute());
    }

    /** This process's replica id. */
    public String replicaId() {
        return store.replicaId();
    }

    private void requirePostgres() {
        if (!store.isPostgres()) throw new IllegalStateException("derp replicas are for PostgreSQL");
    }
}
