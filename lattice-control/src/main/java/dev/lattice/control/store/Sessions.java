package dev.lattice.control.store;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jdbi.v3.core.Handle;

/**
 * The {@code sessions} table, PostgreSQL only: which nodes stream to which replica. A session counts while its
 * replica's heartbeat ({@link Replicas}) is younger than the lapse. Every change of a session row appends a
 * {@link ChangeLog.Kind#SESSIONS} row for its node in the same transaction.
 */
public final class Sessions {
    private static final String DB_NOW = Replicas.DB_NOW;

    /** A node streaming to another replica, since when (the start of its online period). */
    public record Remote(long nodeId, String replica, Instant since) {}

    private final Store store;

    Sessions(Store store) {
        this.store = store;
    }

    /**
     * Writes this replica's session changes in one transaction: {@code upsert} node to since, {@code remove} nodes
     * no longer streaming here, and {@code lastSeen} of nodes whose last stream here closed (where it moves last seen
     * forward; updated_at moves too, so a lagging replica's compare-and-set fails rather than restore an older one).
     * Returns the new updated_at of the nodes whose last seen was written.
     */
    public Map<Long, Instant> write(Map<Long, Instant> upsert, Collection<Long> remove, Map<Long, Instant> lastSeen) {
        if (upsert.isEmpty() && remove.isEmpty() && lastSeen.isEmpty()) return Map.of();
        return store.write("write sessions", h -> {
            Map<Long, Instant> updated = new java.util.HashMap<>();
            if (!lastSeen.isEmpty()) {
                List<Long> ids = new ArrayList<>(lastSeen.keySet());
                h.createQuery("UPDATE nodes n SET last_seen = v.t,"
                                + " updated_at = CASE WHEN n.updated_at >= :now THEN n.updated_at + 1 ELSE :now END"
                                + " FROM unnest(:ids, :ts) AS v(id, t)"
                                + " WHERE n.id = v.id AND (n.last_seen IS NULL OR n.last_seen < v.t) RETURNING n.id, n.updated_at")
                        .bind("now", Store.millis(store.now())).bind("ids", ids.toArray(Long[]::new))
                        .bind("ts", ids.stream().map(id -> Store.millis(lastSeen.get(id))).toArray(Long[]::new))
                        .map((rs, ctx) -> Map.entry(rs.getLong(1), Instant.ofEpochMilli(rs.getLong(2))))
                        .list().forEach(e -> updated.put(e.getKey(), e.getValue()));
                store.changes().appendAll(h, ChangeLog.Kind.NODE, updated.keySet());
            }
            if (!remove.isEmpty()) {
                h.createUpdate("DELETE FROM sessions WHERE replica = :r AND node_id = ANY(:ids)")
                        .bind("r", store.replicaId()).bind("ids", remove.toArray(Long[]::new)).execute();
            }
            if (!upsert.isEmpty()) {
                var batch = h.prepareBatch("INSERT INTO sessions (node_id, replica, since) VALUES (:n, :r, :s)"
                        + " ON CONFLICT (node_id, replica) DO UPDATE SET since = EXCLUDED.since");
                upsert.forEach((id, since) -> batch.bind("n", id).bind("r", store.replicaId()).bind("s", Store.millis(since)).add());
                batch.execute();
            }
            Set<Long> ids = new LinkedHashSet<>(upsert.keySet());
            ids.addAll(remove);
            store.changes().appendAll(h, ChangeLog.Kind.SESSIONS, ids);
            return updated;
        });
    }

    /**
     * The sessions other replicas hold whose heartbeat is younger than {@code lapse}; of the nodes {@code ids}, or of
     * all nodes when null.
     */
    public List<Remote> others(Duration lapse, Collection<Long> ids) {
        return store.read(h -> {
            var q = h.createQuery("SELECT s.node_id, s.replica, s.since FROM sessions s JOIN replicas r ON r.id = s.replica"
                    + " WHERE s.replica <> :me AND r.heartbeat_at >= " + DB_NOW + " - :lapse"
                    + (ids == null ? "" : " AND s.node_id = ANY(:ids)"))
                    .bind("me", store.replicaId()).bind("lapse", lapse.toMillis());
            if (ids != null) q.bind("ids", ids.toArray(Long[]::new));
            return q.map((rs, ctx) -> new Remote(rs.getLong("node_id"), rs.getString("replica"),
                    Instant.ofEpochMilli(rs.getLong("since")))).list();
        });
    }

    /** Whether node {@code id} streams to a live replica (this one included), as the database says. */
    public boolean onlineAnywhere(long id, Duration lapse) {
        return store.read(h -> h.createQuery("SELECT EXISTS (SELECT 1 FROM sessions s JOIN replicas r ON r.id = s.replica"
                        + " WHERE s.node_id = :n AND r.heartbeat_at >= " + DB_NOW + " - :lapse)")
                .bind("n", id).bind("lapse", lapse.toMillis()).mapTo(Boolean.class).one());
    }

    /**
     * Removes the replicas whose heartbeat is older than {@code lapse} and every session of a replica that is not
     * (or no longer) registered. A node left with no session gets the dead replica's last heartbeat as its last seen.
     * Returns the nodes whose sessions went; usually nothing is dead and this is one read.
     */
    public List<Long> reap(Duration lapse) {
        boolean any = store.read(h -> h.createQuery("SELECT EXISTS (SELECT 1 FROM replicas WHERE id <> :me AND heartbeat_at < "
                        + DB_NOW + " - :lapse) OR EXISTS (SELECT 1 FROM sessions s WHERE NOT EXISTS"
                        + " (SELECT 1 FROM replicas r WHERE r.id = s.replica))")
                .bind("me", store.replicaId()).bind("lapse", lapse.toMillis()).mapTo(Boolean.class).one());
        if (!any) return List.of();
        return store.write("reap dead replicas", h -> reap(h, lapse));
    }

    private List<Long> reap(Handle h, Duration lapse) {
        Map<String, Long> dead = new java.util.HashMap<>();
        h.createQuery("DELETE FROM replicas WHERE id <> :me AND heartbeat_at < " + DB_NOW + " - :lapse RETURNING id, heartbeat_at")
                .bind("me", store.replicaId()).bind("lapse", lapse.toMillis())
                .map((rs, ctx) -> Map.entry(rs.getString("id"), rs.getLong("heartbeat_at")))
                .list().forEach(e -> dead.put(e.getKey(), e.getValue()));
        long now = h.createQuery("SELECT " + DB_NOW).mapTo(Long.class).one();
        List<Long> gone = new ArrayList<>();
        List<Long> seen = new ArrayList<>();
        h.createQuery("DELETE FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = s.replica)"
                        + " RETURNING node_id, replica")
                .map((rs, ctx) -> Map.entry(rs.getLong("node_id"), rs.getString("replica")))
                .list().forEach(e -> {
                    gone.add(e.getKey());
                    // Last seen: the dead replica's last heartbeat (an orphan's replica is unknown: now).
                    long at = dead.getOrDefault(e.getValue(), now);
                    // updated_at moves too: a lagging replica's compare-and-set from the older row must fail, not
                    // write back the older last seen.
                    int n = h.createUpdate("UPDATE nodes SET last_seen = :t,"
                                    + " updated_at = CASE WHEN updated_at >= :now THEN updated_at + 1 ELSE :now END"
                                    + " WHERE id = :id AND (last_seen IS NULL OR last_seen < :t)"
                                    + " AND NOT EXISTS (SELECT 1 FROM sessions WHERE node_id = :id)")
                            .bind("t", at).bind("now", now).bind("id", e.getKey()).execute();
                    if (n > 0) seen.add(e.getKey());
                });
        store.changes().appendAll(h, ChangeLog.Kind.NODE, seen);
        store.changes().appendAll(h, ChangeLog.Kind.SESSIONS, gone);
        return gone;
    }
}
