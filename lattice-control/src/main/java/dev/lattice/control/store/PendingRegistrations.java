package dev.lattice.control.store;

import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The {@code pending_registrations} table, PostgreSQL only: interactive registrations waiting for an admin or a login,
 * so that any replica can complete one whose client waits on another. A completion first claims the row (only one
 * claim wins), then records the outcome, node or error, and announces it with a {@link ChangeLog.Kind#REGISTRATIONS}
 * row.
 */
public final class PendingRegistrations {
    /** A stored registration; {@code completed} is null while it waits, {@code nodeId}/{@code error} its outcome. */
    public record Row(String authId, MachinePublicKey machineKey, RegisterRequest request, Instant created,
            Instant completed, Long nodeId, String error) {
        /** Claimed and answered: a node, or an error. */
        public boolean answered() {
            return nodeId != null || error != null;
        }
    }

    private final Store store;

    PendingRegistrations(Store store) {
        this.store = store;
    }

    /** Stores a new waiting registration, and deletes those created before {@code expired}. */
    public void insert(String authId, MachinePublicKey machineKey, RegisterRequest request, Instant created, Instant expired) {
        store.write("store pending registration", h -> {
            h.createUpdate("DELETE FROM pending_registrations WHERE created_at < :t").bind("t", Store.millis(expired)).execute();
            return h.createUpdate("INSERT INTO pending_registrations (auth_id, machine_key, request, created_at)"
                            + " VALUES (:a, :m, :r, :c)")
                    .bind("a", authId).bind("m", machineKey.toString())
                    .bind("r", Tailcfg.json().writeValueAsString(request)).bind("c", Store.millis(created)).execute();
        });
    }

    /** The registration {@code authId} if created at or after {@code notBefore}, waiting or answered. */
    public Optional<Row> get(String authId, Instant notBefore) {
        return store.read(h -> h.createQuery("SELECT * FROM pending_registrations WHERE auth_id = :a AND created_at >= :t")
                .bind("a", authId).bind("t", Store.millis(notBefore)).map((rs, ctx) -> map(rs)).findOne());
    }

    /** The unclaimed registrations created at or after {@code notBefore}, oldest first. */
    public List<Row> waiting(Instant notBefore) {
        return store.read(h -> h.createQuery("SELECT * FROM pending_registrations WHERE completed_at IS NULL AND created_at >= :t"
                        + " ORDER BY created_at").bind("t", Store.millis(notBefore)).map((rs, ctx) -> map(rs)).list());
    }

    /** Claims {@code authId} for completion; false when another completion (on any replica) claimed it first. */
    public boolean claim(String authId) {
        return store.write("claim pending registration", h -> h.createUpdate(
                        "UPDATE pending_registrations SET completed_at = :t WHERE auth_id = :a AND completed_at IS NULL")
                .bind("t", Store.millis(store.now())).bind("a", authId).execute()) > 0;
    }

    /** Records the outcome of a claimed registration (a node, or an error) and announces it to the replicas. */
    public void answer(String authId, Long nodeId, String error) {
        store.write("answer pending registration", h -> {
            h.createUpdate("UPDATE pending_registrations SET completed_at = COALESCE(completed_at, :t), node_id = :n, error = :e"
                            + " WHERE auth_id = :a")
                    .bind("t", Store.millis(store.now())).bind("n", nodeId).bind("e", error).bind("a", authId).execute();
            store.changes().append(h, ChangeLog.Kind.REGISTRATIONS, null);
            return null;
        });
    }

    private static Row map(java.sql.ResultSet rs) throws java.sql.SQLException {
        return new Row(rs.getString("auth_id"), MachinePublicKey.parse(rs.getString("machine_key")),
                Tailcfg.json().readValue(rs.getString("request"), RegisterRequest.class), Store.instant(rs, "created_at"),
                Store.instant(rs, "completed_at"), Store.nullableLong(rs, "node_id"), rs.getString("error"));
    }
}
