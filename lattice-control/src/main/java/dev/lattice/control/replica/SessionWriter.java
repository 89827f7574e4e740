package dev.lattice.control.replica;

import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Sessions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores which nodes stream to this replica ({@link Sessions}), so the other replicas see them online. Writes only
 * what changed since the last write, and only after a node's first stream here opened or its last closed: a map poll writes nothing, and a burst of connections (a restart storm) is one
 * transaction per {@code delay}. A node that reconnects within the delay writes nothing at all. The last seen of nodes
 * whose last stream here closed goes in the same transaction ({@link Tailnet#deferLastSeen}).
 */
final class SessionWriter {
    private static final Logger log = LoggerFactory.getLogger(SessionWriter.class);

    private final Sessions sessions;
    private final Tailnet tailnet;
    private final ScheduledExecutorService timer;
    private final Duration delay;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private Map<Long, Instant> stored = Map.of(); // what the table holds for this replica; on the timer thread only
    private final Map<Long, Instant> lastSeen = new HashMap<>(); // drained, not yet stored; on the timer thread only

    SessionWriter(Sessions sessions, Tailnet tailnet, ScheduledExecutorService timer, Duration delay) {
        this.sessions = sessions;
        this.tailnet = tailnet;
        this.timer = timer;
        this.delay = delay;
    }

    /** A node's first stream here opened or its last closed: write within {@code delay}. */
    void changed() {
        if (scheduled.compareAndSet(false, true)) timer.schedule(this::flush, delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The others took this replica for dead (its row and sessions removed): write all its sessions again. */
    void rejoined() {
        timer.execute(() -> {
            if (!stored.isEmpty()) log.warn("this replica was taken for dead by another (no heartbeat for a while); its sessions are stored again");
            stored = Map.of();
            changed();
        });
    }

    /** Writes now, on the caller's thread (a shutdown, once the timer has stopped). */
    void flushNow() {
        flush();
    }

    private void flush() {
        scheduled.set(false);
        lastSeen.putAll(tailnet.drainLastSeen());
        Map<Long, Instant> now = tailnet.localSessions();
        Map<Long, Instant> upsert = new HashMap<>();
        now.forEach((id, since) -> {
            if (!since.equals(stored.get(id))) upsert.put(id, since);
        });
        List<Long> remove = new ArrayList<>();
        for (Long id : stored.keySet()) if (!now.containsKey(id)) remove.add(id);
        try {
            tailnet.lastSeenStored(sessions.write(upsert, remove, lastSeen));
            lastSeen.clear();
            stored = now;
        } catch (RuntimeException e) {
            log.warn("could not store this replica's sessions ({} changed): {}; trying again", upsert.size() + remove.size(), e.toString());
            if (scheduled.compareAndSet(false, true)) timer.schedule(this::flush, 1, TimeUnit.SECONDS);
        }
    }

}
