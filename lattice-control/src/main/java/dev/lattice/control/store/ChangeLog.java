package dev.lattice.control.store;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import org.jdbi.v3.core.Handle;

/**
 * The {@code changes} table, PostgreSQL only: each tailnet write appends a row in its own transaction and sends
 * {@code NOTIFY lattice_changes}, and every replica reads the rows after the last one it saw to refresh its
 * in-memory tailnet. Rows are numbered in commit order: the appender takes a transaction-scoped advisory lock just
 * before its insert, so a row with a higher number never commits before one with a lower number and a reader that
 * has seen row N has seen every row below N. Appending is the last statement of each write, so the lock is held
 * only for the insert and the commit.
 */
public final class ChangeLog {
    /** The channel replicas LISTEN on; the payload is unused (a notification only says "read the log"). */
    public static final String CHANNEL = "lattice_changes";
    /** The advisory lock key that serialises appends: "lattice" in ASCII, unlikely to clash with anyone's. */
    private static final long APPEND_LOCK = 0x6c617474696365L;

    /** What a row says changed. */
    public enum Kind {
        /** The node's row changed, appeared or went: read it again. */
        NODE,
        /** Users changed (created, renamed, deleted, logged in). */
        USERS,
        /** The stored policy changed (policy.mode: database). */
        POLICY,
        /** The node's sessions changed (it came online or went offline on the writing replica): read them again. */
        SESSIONS,
        /** An interactive registration was completed or refused: a replica holding its waiting client answers it. */
        REGISTRATIONS;

        String stored() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Kind ofStored(String s) {
            return valueOf(s.toUpperCase(Locale.ROOT));
        }
    }

    /** One row: its number, the replica that wrote it, what changed. {@code nodeId} is null unless kind is NODE. */
    public record Entry(long seq, String replica, Kind kind, Long nodeId) {}

    private final Store store;

    ChangeLog(Store store) {
        this.store = store;
    }

    /** Whether writes are logged: on PostgreSQL, where other replicas may share the database. */
    public boolean enabled() {
        return store.isPostgres();
    }

    /** This process's replica id, written into every row it appends (so it can skip its own). */
    public String replicaId() {
        return store.replicaId();
    }

    /** Appends a row within the write transaction {@code h} (nothing on SQLite). */
    void append(Handle h, Kind kind, Long nodeId) {
        if (!enabled()) return;
        h.createQuery("SELECT 1 FROM pg_advisory_xact_lock(:k)").bind("k", APPEND_LOCK).mapTo(Integer.class).one();
        h.createUpdate("INSERT INTO changes (replica, kind, node_id, created_at) VALUES (:r, :k, :n, :t)")
                .bind("r", store.replicaId()).bind("k", kind.stored()).bind("n", nodeId)
                .bind("t", Store.millis(store.now())).execute();
        h.execute("NOTIFY " + CHANNEL);
    }

    /** Appends a row per node, of one kind, within the write transaction {@code h} (nothing on SQLite). */
    void appendAll(Handle h, Kind kind, java.util.Collection<Long> nodeIds) {
        if (!enabled() || nodeIds.isEmpty()) return;
        h.createQuery("SELECT 1 FROM pg_advisory_xact_lock(:k)").bind("k", APPEND_LOCK).mapTo(Integer.class).one();
        var batch = h.prepareBatch("INSERT INTO changes (replica, kind, node_id, created_at) VALUES (:r, :k, :n, :t)");
        long t = Store.millis(store.now());
        for (Long id : nodeIds) batch.bind("r", store.replicaId()).bind("k", kind.stored()).bind("n", id).bind("t", t).add();
        batch.execute();
        h.execute("NOTIFY " + CHANNEL);
    }

    /** The highest number in the log, 0 when empty: where a replica starts reading before it loads the tailnet. */
    public long latest() {
        return store.read(h -> h.createQuery("SELECT COALESCE(MAX(seq), 0) FROM changes").mapTo(Long.class).one());
    }

    /** The lowest number still in the log, 0 when empty. */
    public long oldest() {
        return store.read(h -> h.createQuery("SELECT COALESCE(MIN(seq), 0) FROM changes").mapTo(Long.class).one());
    }

    /** Up to {@code limit} rows after {@code seq}, in order. */
    public List<Entry> after(long seq, int limit) {
        return store.read(h -> h.createQuery("SELECT seq, replica, kind, node_id FROM changes WHERE seq > :s ORDER BY seq LIMIT :l")
                .bind("s", seq).bind("l", limit)
                .map((rs, ctx) -> new Entry(rs.getLong("seq"), rs.getString("replica"), Kind.ofStored(rs.getString("kind")),
                        Store.nullableLong(rs, "node_id")))
                .list());
    }

    /** Deletes rows written before {@code before}; returns how many. A replica away longer reloads everything. */
    public int prune(Instant before) {
        return store.write("prune change log", h -> h.createUpdate("DELETE FROM changes WHERE created_at < :t")
                .bind("t", Store.millis(before)).execute());
    }
}
