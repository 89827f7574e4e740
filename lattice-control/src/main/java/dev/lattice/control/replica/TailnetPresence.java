package dev.lattice.control.replica;

import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Store;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Online status across the replicas of one PostgreSQL database: this replica's sessions go to the database
 * ({@link SessionWriter}, on a thread of its own), the others' come back into its tailnet ({@link RemoteSessions},
 * after each {@link ReplicaHeartbeat beat}). A node streaming to any live replica is online on all; when its stream
 * ends it goes offline everywhere within a notification, and when its replica dies, within {@link Timing#lapse()}
 * plus a heartbeat.
 */
public final class TailnetPresence implements AutoCloseable {
    /**
     * @param heartbeat how often each replica beats ({@link ReplicaHeartbeat}), and this one reads every other
     *     replica's sessions
     * @param lapse a replica whose last beat is older than this is dead and its sessions gone: well under the 74 s in
     *     which a node whose link is cut goes offline, and long enough that a replica stalled for a few seconds
     *     (a collection, a slow database) does not flap all its nodes offline; {@link DerpMesh#LAPSE} is shorter
     * @param flush how long session changes gather before they are written together
     */
    public record Timing(Duration heartbeat, Duration lapse, Duration flush) {
        public static final Timing DEFAULT = new Timing(Duration.ofSeconds(2), Duration.ofSeconds(20), Duration.ofMillis(50));
    }

    private final Tailnet tailnet;
    private final ReplicaHeartbeat heartbeat;
    private final Timing timing;
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("replica-sessions").daemon().factory());
    private final SessionWriter writer;
    private final RemoteSessions remote;
    private volatile boolean closed;

    public TailnetPresence(Store store, Tailnet tailnet, ReplicaHeartbeat heartbeat, Timing timing) {
        this.tailnet = tailnet;
        this.heartbeat = heartbeat;
        this.timing = timing;
        this.writer = new SessionWriter(store.sessions(), tailnet, timer, timing.flush());
        this.remote = new RemoteSessions(store.sessions(), tailnet, timing.lapse());
    }

    /** Reads the others' sessions and follows this replica's; after the heartbeat's first beat, before any map stream. */
    public void start() {
        remote.syncAll();
        tailnet.deferLastSeen(true);
        tailnet.onLocalPresence(writer::changed);
        heartbeat.afterBeat(this::beaten);
    }

    private void beaten(boolean rejoined) {
        if (closed) return;
        if (rejoined) writer.rejoined();
        remote.reap();
        remote.syncAll();
    }

    public Timing timing() {
        return timing;
    }

    /** Another replica changed the sessions of {@code nodes} (a change-log row said so). */
    public void sessionsChanged(Collection<Long> nodes) {
        remote.sync(nodes);
    }

    /** Stops following; the heartbeat's close removes this replica's sessions. */
    @Override
    public void close() {
        closed = true;
        tailnet.onLocalPresence(() -> { });
        tailnet.deferLastSeen(false);
        timer.shutdownNow();
        try {
            timer.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            writer.flushNow(); // the last seen of streams closed just before
        } catch (RuntimeException e) {
            // logged by the writer
        }
    }
}
