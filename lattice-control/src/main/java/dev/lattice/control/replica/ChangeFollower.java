package dev.lattice.control.replica;

import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.ChangeLog;
import dev.lattice.control.store.Store;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this replica's in-memory {@link Tailnet} current with what the other replicas on the same PostgreSQL database
 * write. A thread of its own holds a dedicated connection that {@code LISTEN}s on {@link ChangeLog#CHANNEL}; on a
 * notification, and every {@code poll} anyway, it reads the change-log rows after the last one it saw and refreshes
 * what they name: a node ({@link Tailnet#refresh}, which tells this replica's map sessions as a local write does),
 * the users, the policy. Rows this replica wrote itself are skipped: its tailnet already has them.
 *
 * <p>The poll is the safety net: a notification sent while the connection was down is lost, the rows are not, so
 * after a reconnect (and every poll) the replica reads them. A replica away so long that the rows it missed were
 * pruned reloads everything.
 */
public final class ChangeFollower implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ChangeFollower.class);
    private static final int BATCH = 1000;
    /** Rows older than this are pruned (by every replica, every {@link #PRUNE_EVERY}). */
    static final Duration KEEP = Duration.ofHours(1);
    static final Duration PRUNE_EVERY = Duration.ofMinutes(10);

    private final Store store;
    private final ChangeLog changes;
    private final Tailnet tailnet;
    private final Runnable policyChanged;
    private final Duration poll;
    private volatile long lastSeen;
    private volatile boolean closed;
    private volatile boolean paused;
    private volatile boolean parked; // the thread saw paused and does nothing until resumed
    private volatile Connection listening; // owned by the thread; aborted from outside to stop or pause
    private Instant lastPrune = Instant.EPOCH;
    private volatile java.util.function.Consumer<Set<Long>> sessionsChanged = ids -> { };
    private volatile Runnable registrationsAnswered = () -> { };
    private Thread thread;

    /**
     * @param from the newest row number read before the tailnet was loaded: later rows are applied
     * @param policyChanged re-reads the stored policy (another replica set it)
     * @param poll how often the log is read without a notification
     */
    public ChangeFollower(Store store, Tailnet tailnet, long from, Runnable policyChanged, Duration poll) {
        this.store = store;
        this.changes = store.changes();
        this.tailnet = tailnet;
        this.policyChanged = policyChanged;
        this.poll = poll;
        this.lastSeen = from;
    }

    /** {@code c} hears the nodes whose sessions another replica changed (after those nodes were refreshed). */
    public void onSessions(java.util.function.Consumer<Set<Long>> c) {
        this.sessionsChanged = c;
    }

    /** {@code r} runs when another replica answered an interactive registration (after the nodes were refreshed). */
    public void onRegistrations(Runnable r) {
        this.registrationsAnswered = r;
    }

    public synchronized void start() {
        if (thread == null) thread = Thread.ofPlatform().name("change-follower").daemon().start(this::run);
    }

    /** The number of the last change-log row applied (or skipped as this replica's own). */
    public long lastSeen() {
        return lastSeen;
    }

    /**
     * Stops listening and reading until {@link #resume()}: notifications sent meanwhile are lost, as when the
     * connection drops (tests use this to show the catch-up).
     */
    public void pause() throws InterruptedException {
        paused = true;
        abortListening();
        long end = System.nanoTime() + 5_000_000_000L;
        while (!parked && thread != null && thread.isAlive()) {
            if (System.nanoTime() > end) throw new IllegalStateException("the change follower did not pause within 5 s");
            Thread.sleep(5);
        }
    }

    public void resume() {
        paused = false;
    }

    private void run() {
        long backoff = 100;
        while (!closed) {
            try {
                if (paused) {
                    closeListening();
                    parked = true;
                    Thread.sleep(20);
                    continue;
                }
                parked = false;
                if (listening == null) {
                    Connection c = store.openDedicatedConnection();
                    try (Statement s = c.createStatement()) {
                        s.execute("LISTEN " + ChangeLog.CHANNEL);
                    }
                    listening = c;
                    // After LISTEN: what committed before is read now, what commits later is notified.
                    catchUp();
                    backoff = 100;
                }
                PGConnection pg = listening.unwrap(PGConnection.class);
                pg.getNotifications((int) Math.max(1, poll.toMillis())); // what they say does not matter: read the log
                if (paused || closed) continue;
                catchUp();
                pruneNowAndThen();
            } catch (InterruptedException e) {
                break;
            } catch (SQLException | RuntimeException e) {
                closeListening();
                if (closed || paused) continue;
                log.warn("change log: {}; reading it again in {} ms", e.toString(), backoff);
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    break;
                }
                backoff = Math.min(backoff * 2, 5000);
            }
        }
        closeListening();
    }

    /** Applies every row after {@link #lastSeen}, in batches. */
    private void catchUp() {
        while (true) {
            long from = lastSeen;
            long oldest = changes.oldest();
            if (oldest > from + 1) {
                // Rows this replica never saw were pruned: only a full reload is sure to be right.
                long latest = changes.latest();
                log.warn("change log: rows {}..{} were pruned before this replica read them; reloading the tailnet",
                        from + 1, oldest - 1);
                tailnet.reload();
                policyChanged.run();
                registrationsAnswered.run();
                lastSeen = latest;
                continue;
            }
            List<ChangeLog.Entry> rows = changes.after(from, BATCH);
            if (rows.isEmpty()) return;
            apply(rows);
            lastSeen = rows.getLast().seq();
            if (rows.size() < BATCH) return;
        }
    }

    /**
     * Users first (a new node may belong to a new user), then nodes (each once), then sessions and registrations
     * (which name nodes), then the policy (it sees all).
     */
    private void apply(List<ChangeLog.Entry> rows) {
        boolean users = false;
        boolean policy = false;
        boolean registrations = false;
        Set<Long> nodes = new LinkedHashSet<>();
        Set<Long> sessions = new LinkedHashSet<>();
        String self = changes.replicaId();
        for (ChangeLog.Entry e : rows) {
            if (self.equals(e.replica())) continue;
            switch (e.kind()) {
                case USERS -> users = true;
                case POLICY -> policy = true;
                case NODE -> {
                    if (e.nodeId() != null) nodes.add(e.nodeId());
                }
                case SESSIONS -> {
                    if (e.nodeId() != null) sessions.add(e.nodeId());
                }
                case REGISTRATIONS -> registrations = true;
            }
        }
        if (users) tailnet.announceFull();
        for (long id : nodes) tailnet.refresh(id);
        if (!sessions.isEmpty()) sessionsChanged.accept(sessions);
        if (registrations) registrationsAnswered.run();
        if (policy) policyChanged.run();
    }

    private void pruneNowAndThen() {
        Instant now = tailnet.now();
        if (lastPrune.plus(PRUNE_EVERY).isAfter(now)) return;
        lastPrune = now;
        int n = changes.prune(now.minus(KEEP));
        if (n > 0) log.debug("change log: pruned {} rows older than {}", n, KEEP);
    }

    private void abortListening() {
        Connection c = listening;
        if (c == null) return;
        try {
            // abort, not close: the follower thread may be blocked reading this connection.
            c.abort(Runnable::run);
        } catch (SQLException e) {
            log.debug("change log: abort: {}", e.toString());
        }
    }

    private void closeListening() {
        Connection c = listening;
        listening = null;
        if (c == null) return;
        try {
            c.close();
        } catch (SQLException e) {
            // Already broken; nothing to release.
        }
    }

    @Override
    public void close() {
        closed = true;
        abortListening();
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
