package dev.lattice.control.auth;

import dev.lattice.control.store.PendingRegistrations;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The interactive registrations waiting for an admin or a login. On SQLite they live in this map only. With replicas
 * the database holds them ({@link PendingRegistrations}), so a registration started on one replica can be completed
 * on any, and the map holds those whose client waits here, with the future its answer completes. The database then
 * decides which completion wins.
 */
final class PendingRegistry {
    private final Map<String, PendingRegistration> here = new ConcurrentHashMap<>();
    private final PendingRegistrations shared; // null on SQLite
    private final Duration ttl;

    PendingRegistry(PendingRegistrations shared, Duration ttl) {
        this.shared = shared;
        this.ttl = ttl;
    }

    /** Holds a new registration here and (replicas) stores it; false when the auth id is taken here. */
    boolean add(PendingRegistration p, Instant now) {
        expire(now);
        if (here.putIfAbsent(p.authId(), p) != null) return false;
        if (shared != null) {
            try {
                shared.insert(p.authId(), p.machineKey(), p.request(), p.created(), now.minus(ttl));
            } catch (RuntimeException e) {
                here.remove(p.authId(), p);
                throw e;
            }
        }
        return true;
    }

    /** The waiting registration {@code authId} (not claimed, not expired), with the future its waiting client holds here. */
    Optional<PendingRegistration> find(String authId, Instant now) {
        expire(now);
        PendingRegistration p = here.get(authId);
        if (shared == null) return Optional.ofNullable(p);
        Optional<PendingRegistrations.Row> row = shared.get(authId, now.minus(ttl));
        if (row.isEmpty() || row.get().completed() != null) return Optional.empty();
        return Optional.of(p != null ? p : fromRow(row.get()));
    }

    /**
     * The registration {@code authId} whose follow-up request landed here, held here from now on: waiting, or (replicas)
     * claimed by a completion still under way, whose answer comes as a change-log row. Empty when unknown, expired or
     * answered already.
     */
    Optional<PendingRegistration> waitHere(String authId, Instant now) {
        expire(now);
        PendingRegistration p = here.get(authId);
        if (shared != null) {
            Optional<PendingRegistrations.Row> row = shared.get(authId, now.minus(ttl));
            if (row.isEmpty() || row.get().answered()) return Optional.empty();
            if (p == null) p = fromRow(row.get());
        }
        if (p == null) return Optional.empty();
        PendingRegistration held = here.putIfAbsent(authId, p);
        return Optional.of(held != null ? held : p);
    }

    /** Takes {@code p} for completion: true for exactly one caller across all replicas. */
    boolean claim(PendingRegistration p) {
        boolean local = here.remove(p.authId(), p);
        return shared == null ? local : shared.claim(p.authId());
    }

    /** Answers a claimed registration: its client here hears {@code response}; (replicas) the others hear of it. */
    void answer(PendingRegistration p, dev.lattice.wire.tailcfg.RegisterResponse response, Long nodeId, String error) {
        p.outcome().complete(response);
        if (shared != null) shared.answer(p.authId(), nodeId, error);
    }

    /** Every waiting registration, oldest first. */
    List<PendingRegistration> all(Instant now) {
        expire(now);
        if (shared == null) return List.copyOf(here.values());
        List<PendingRegistration> out = new ArrayList<>();
        for (PendingRegistrations.Row r : shared.waiting(now.minus(ttl))) {
            PendingRegistration p = here.get(r.authId());
            out.add(p != null ? p : fromRow(r));
        }
        return out;
    }

    /** The registrations whose client waits here. */
    List<PendingRegistration> waitingHere() {
        return List.copyOf(here.values());
    }

    /** What the database says of {@code authId} now (replicas only; empty on SQLite or when gone). */
    Optional<PendingRegistrations.Row> stored(String authId) {
        return shared == null ? Optional.empty() : shared.get(authId, Instant.EPOCH);
    }

    /** Stops holding {@code p} here (answered by another replica). */
    void release(PendingRegistration p) {
        here.remove(p.authId(), p);
    }

    private void expire(Instant now) {
        here.values().removeIf(p -> p.created().plus(ttl).isBefore(now));
    }

    private static PendingRegistration fromRow(PendingRegistrations.Row r) {
        return new PendingRegistration(r.authId(), r.machineKey(), r.request(), r.created(), new CompletableFuture<>());
    }
}
