package dev.lattice.control.store;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * The {@code replicas} table, PostgreSQL only: each replica's heartbeat on the database's clock (so replicas whose
 * machines' clocks disagree still agree on which of them is alive), and its embedded DERP server if it has one.
 * Each replica writes only its own row; {@link Sessions#reap} removes the rows of dead ones.
 */
public final class Replicas {
    /** The database's clock in epoch milliseconds (clock_timestamp: the statement's time, not the transaction's). */
    static final String DB_NOW = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

    /** A replica's embedded DERP server: where clients and replicas reach it, and its tailcfg.DERPNode as JSON. */
    public record Derp(URI url, String nodeJson) {}

    /** A live replica's DERP server, and which replica it is. */
    public record DerpEntry(String replica, Derp derp) {}

    private final Store store;

    Replicas(Store store) {
        this.store = store;
    }

    /**
     * Marks this replica alive now, with its DERP server ({@code derp}, null for none). Returns false when its row was
     * missing (first beat, or another replica took it for dead and removed it with its sessions): whoever stores this
     * replica's sessions must write them all again.
     */
    public boolean beat(Derp derp) {
        requirePostgres();
        String url = derp == null ? null : derp.url().normalize().toString();
        String node = derp == null ? null : derp.nodeJson();
        return store.write("replica heartbeat", h -> {
            int n = h.createUpdate("UPDATE replicas SET heartbeat_at = " + DB_NOW + ", derp_url = :u, derp_node = :n WHERE id = :id")
                    .bind("id", store.replicaId()).bind("u", url).bind("n", node).execute();
            if (n > 0) return true;
            h.createUpdate("INSERT INTO replicas (id, heartbeat_at, derp_url, derp_node) VALUES (:id, " + DB_NOW + ", :u, :n)")
                    .bind("id", store.replicaId()).bind("u", url).bind("n", node).execute();
            return false;
        });
    }

    /** The DERP servers of the replicas (this one included) whose heartbeat is younger than {@code lapse}, by URL. */
    public List<DerpEntry> liveDerp(Duration lapse) {
        requirePostgres();
        return store.read(h -> h.createQuery("SELECT id, derp_url, derp_node FROM replicas WHERE derp_url IS NOT NULL"
                        + " AND heartbeat_at > " + DB_NOW + " - :lapse ORDER BY derp_url, id")
                .bind("lapse", lapse.toMillis())
                .map((rs, ctx) -> new DerpEntry(rs.getString("id"),
                        new Derp(URI.create(rs.getString("derp_url")), rs.getString("derp_node"))))
                .list());
    }

    /**
     * Removes this replica's row and its sessions (a clean shutdown: the others need not wait for its heartbeat to
     * lapse, and unlink from its DERP server at their next read). Returns the nodes whose sessions went.
     */
    public List<Long> leave() {
        requirePostgres();
        return store.write("replica leaves", h -> {
            List<Long> ids = h.createQuery("DELETE FROM sessions WHERE replica = :r RETURNING node_id")
                    .bind("r", store.replicaId()).mapTo(Long.class).list();
            h.createUpdate("DELETE FROM replicas WHERE id = :r").bind("r", store.replicaId()).execute();
            store.changes().appendAll(h, ChangeLog.Kind.SESSIONS, ids);
            return ids;
        });
    }

    /** This process's replica id. */
    public String replicaId() {
        return store.replicaId();
    }

    private void requirePostgres() {
        if (!store.isPostgres()) throw new IllegalStateException("replicas are for PostgreSQL");
    }
}
