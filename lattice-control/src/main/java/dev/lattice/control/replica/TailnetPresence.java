package dev.lattice.control.replica;

import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Store;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Online status across the replicas of one PostgreSQL database: this replica's sessions and heartbeat go to the
 * database ({@link SessionWriter}), the others' come back into its tailnet ({@link RemoteSessions}), on a thread of
 * its own. A node streaming to any live replica is online on all; when its stream ends it goes offline everywhere
 * within a notification, and when its replica dies, within {@link Timing#lapse()} plus a heartbeat.
 */
public final class TailnetPresence implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TailnetPresence.class);

    /**
     * @param heartbeat how often this replica beats, and reads every other replica's sessions
     * @param lapse a replica whose last beat is older than this is dead (well under the 74 s in which a node whose
     *     link is cut goes offline)
     * @param flush how long session changes gather before they are written together
     */
    public record Timing(Duration heartbeat, Duration lapse, Duration flush) {
        public static final Timing DEFAULT = new Timing(Duration.ofSeconds(5), Duration.ofSeconds(20), Duration.ofMillis(50));
    }

    private final Tailnet tailnet;
    private final Timing timing;
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("replica-presence").daemon().factory());
    private final SessionWriter writer;
    private final RemoteSessions remote;
    private volatile boolean beating = true;

    public TailnetPresence(Store store, Tailnet tailnet, Timing timing) {
        this.tailnet = tailnet;
        this.timing = timing;
        this.writer = new SessionWriter(store.sessions(), tailnet, timer, timing.flush());
        this.remote = new RemoteSessions(store.sessions(), tailnet, timing.lapse());
    }

    /** Registers this replica, reads the others' sessions, and starts beating; before any map stream opens. */
    public void start() {
        writer.beat();
        remote.syncAll();
        tailnet.onLocalPresence(writer::changed);
        long every = timing.heartbeat().toMillis();
        timer.scheduleWithFixedDelay(this::tick, every, every, TimeUnit.MILLISECONDS);
    }

    private void tick() {
        try {
            if (beating) writer.beat();
            remote.reap();
            remote.syncAll();
        } catch (RuntimeException e) {
            log.warn("replica heartbeat: {}", e.toString());
        }
    }

    public Timing timing() {
        return timing;
    }

    /** Another replica changed the sessions of {@code nodes} (a change-log row said so). */
    public void sessionsChanged(Collection<Long> nodes) {
        remote.sync(nodes);
    }

    /** Stops beating while the process lives on: to the others this replica dies (tests). */
    public void pauseHeartbeat() {
        beating = false;
    }

    /** Beats again after {@link #pauseHeartbeat()}: a replica taken for dead meanwhile stores its sessions again. */
    public void resumeHeartbeat() {
        beating = true;
    }

    @Override
    public void close() {
        tailnet.onLocalPresence(() -> { });
        timer.shutdownNow();
        try {
            timer.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (beating) writer.leave(); // a replica "dead" in a test stays dead
    }
}
