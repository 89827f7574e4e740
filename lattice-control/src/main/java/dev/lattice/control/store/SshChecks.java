package dev.lattice.control.store;

import java.time.Instant;
import java.util.Optional;

/**
 * The {@code ssh_checks} and {@code ssh_check_passes} tables: Tailscale SSH checks waiting for the source owner's
 * proof, and when each (source, destination) pair last passed one. In the database so that any replica can decide a
 * check another replica's client waits on.
 */
public final class SshChecks {
    /** A check and its verdict: empty while waiting, true accepted, false rejected. */
    public record Check(String authId, long srcNode, long dstNode, Instant created, Optional<Boolean> verdict) {}

    private final Store store;

    SshChecks(Store store) {
        this.store = store;
    }

    /** Stores a new waiting check, deleting checks created before {@code expired}. */
    public void create(String authId, long src, long dst, Instant now, Instant expired) {
        store.write("store SSH check", h -> {
            h.createUpdate("DELETE FROM ssh_checks WHERE created_at < :t").bind("t", Store.millis(expired)).execute();
            return h.createUpdate("INSERT INTO ssh_checks (auth_id, src_node, dst_node, created_at) VALUES (:a, :s, :d, :c)")
                    .bind("a", authId).bind("s", src).bind("d", dst).bind("c", Store.millis(now)).execute();
        });
    }

    /** How many checks for destination {@code dst} created at or after {@code notBefore} still wait. */
    public int waitingFor(long dst, Instant notBefore) {
        return store.read(h -> h.createQuery("SELECT COUNT(*) FROM ssh_checks WHERE dst_node = :d AND created_at >= :t"
                        + " AND verdict IS NULL").bind("d", dst).bind("t", Store.millis(notBefore)).mapTo(Integer.class).one());
    }

    /** The check {@code authId} if it was created at or after {@code notBefore}. */
    public Optional<Check> get(String authId, Instant notBefore) {
        return store.read(h -> h.createQuery("SELECT auth_id, src_node, dst_node, created_at, verdict FROM ssh_checks"
                        + " WHERE auth_id = :a AND created_at >= :t")
                .bind("a", authId).bind("t", Store.millis(notBefore))
                .map((rs, ctx) -> {
                    int v = rs.getInt("verdict");
                    Optional<Boolean> verdict = rs.wasNull() ? Optional.empty() : Optional.of(v == 1);
                    return new Check(rs.getString("auth_id"), rs.getLong("src_node"), rs.getLong("dst_node"),
                            Store.instant(rs, "created_at"), verdict);
                }).findOne());
    }

    /** Records the verdict if the check still waits: true for exactly one caller, on any replica. */
    public boolean decide(String authId, boolean accepted, String by, Instant now) {
        return store.write("decide SSH check", h -> h.createUpdate("UPDATE ssh_checks SET verdict = :v, decided_at = :t,"
                        + " decided_by = :b WHERE auth_id = :a AND verdict IS NULL")
                .bind("v", accepted ? 1 : 0).bind("t", Store.millis(now)).bind("b", by).bind("a", authId).execute()) > 0;
    }

    /** When the pair last passed a check, if ever. */
    public Optional<Instant> lastPass(long src, long dst) {
        return store.read(h -> h.createQuery("SELECT passed_at FROM ssh_check_passes WHERE src_node = :s AND dst_node = :d")
                .bind("s", src).bind("d", dst).mapTo(Long.class).findOne().map(Instant::ofEpochMilli));
    }

    /** Records that the pair passed a check at {@code when}. */
    public void recordPass(long src, long dst, Instant when) {
        store.write("record SSH check pass", h -> h.createUpdate("INSERT INTO ssh_check_passes (src_node, dst_node, passed_at)"
                        + " VALUES (:s, :d, :t) ON CONFLICT (src_node, dst_node) DO UPDATE SET passed_at = EXCLUDED.passed_at")
                .bind("s", src).bind("d", dst).bind("t", Store.millis(when)).execute());
    }
}
