package dev.lattice.control.replica;

import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Sessions;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Tells this replica's {@link Tailnet} which nodes stream to the other replicas: the nodes a
 * {@link dev.lattice.control.store.ChangeLog.Kind#SESSIONS} row names at once, and all of them every heartbeat. A
 * replica whose heartbeat is older than {@code lapse} counts as dead: its sessions count for nothing from then on,
 * and {@link #reap} removes them (their nodes get its last heartbeat as last seen).
 */
final class RemoteSessions {
    private final Sessions sessions;
    private final Tailnet tailnet;
    private final Duration lapse;

    RemoteSessions(Sessions sessions, Tailnet tailnet, Duration lapse) {
        this.sessions = sessions;
        this.tailnet = tailnet;
        this.lapse = lapse;
    }

    /** Reads the sessions of {@code ids} again (under the lock, so an older read never overwrites a newer one). */
    synchronized void sync(Collection<Long> ids) {
        if (ids.isEmpty()) return;
        Map<Long, Instant> updates = new HashMap<>();
        for (Long id : ids) updates.put(id, null);
        merge(updates, sessions.others(lapse, ids));
        tailnet.remoteSessions(updates);
    }

    /** Reads every other replica's sessions again: what a missed row or a lapsed heartbeat changed. */
    synchronized void syncAll() {
        Map<Long, Instant> updates = new HashMap<>();
        for (Long id : tailnet.remotelyOnline()) updates.put(id, null);
        merge(updates, sessions.others(lapse, null));
        tailnet.remoteSessions(updates);
    }

    /** Removes dead replicas' sessions from the database (any replica may; one wins) and reads what they changed. */
    void reap() {
        List<Long> gone = sessions.reap(lapse);
        for (long id : gone) tailnet.refresh(id); // last seen, which this replica wrote (its own rows are not read back)
    }

    private static void merge(Map<Long, Instant> updates, List<Sessions.Remote> rows) {
        for (Sessions.Remote r : rows) {
            Instant cur = updates.get(r.nodeId());
            if (cur == null || r.since().isBefore(cur)) updates.put(r.nodeId(), r.since());
        }
    }
}
