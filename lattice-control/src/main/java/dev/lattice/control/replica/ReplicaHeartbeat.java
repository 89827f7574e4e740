package dev.lattice.control.replica;

import dev.lattice.control.store.Replicas;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This replica's one heartbeat: its row in {@link Replicas}, with its DERP server when {@link DerpMesh} advertises
 * one, written every {@code every} on a thread of its own. The readers of the table run on the same thread after
 * each beat ({@link #afterBeat}), so each works from a beat that has just been written. On a clean shutdown the row
 * and this replica's sessions go at once.
 */
public final class ReplicaHeartbeat implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReplicaHeartbeat.class);

    /** Told after each beat (on the heartbeat's thread): whether this replica's row had to be written anew. */
    @FunctionalInterface
    public interface Listener {
        void beaten(boolean rejoined);
    }

    private final Replicas table;
    private final Duration every;
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("replica-heartbeat").daemon().factory());
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private volatile Replicas.Derp derp;
    private volatile boolean beating = true;
    private boolean started;

    public ReplicaHeartbeat(Replicas table, Duration every) {
        this.table = table;
        this.every = every;
    }

    public void afterBeat(Listener l) {
        listeners.add(l);
    }

    /** Beats once at once (the caller sees its row written), then every {@code every}. */
    public synchronized void start() {
        if (started) return;
        started = true;
        tick();
        timer.scheduleWithFixedDelay(this::tick, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** This replica's DERP server from the next beat on (which is at once), or none with null. */
    public void advertiseDerp(Replicas.Derp d) {
        derp = d;
        try {
            timer.execute(this::tick);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            // closing: the row goes anyway
        }
    }

    public Duration every() {
        return every;
    }

    private void tick() {
        boolean rejoined = false;
        try {
            if (beating) rejoined = !table.beat(derp);
        } catch (RuntimeException e) {
            // The database is away: the readers go on with what they read last; the others take this replica for
            // dead once its beats stay away for their lapse, and the next beat that gets through puts it back.
            log.warn("replica heartbeat failed: {}", e.toString());
            return;
        }
        for (Listener l : listeners) {
            try {
                l.beaten(rejoined);
            } catch (RuntimeException e) {
                log.warn("after the replica heartbeat: {}", e.toString());
            }
        }
    }

    /** Stops beating while the process lives on: to the others this replica dies (tests). */
    public void pause() {
        beating = false;
    }

    /** Beats again after {@link #pause()}: a replica taken for dead meanwhile is told it rejoined. */
    public void resume() {
        beating = true;
    }

    /** Leaves: the row and this replica's sessions are deleted, unless paused (a replica "dead" in a test stays dead). */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!beating || !started) return;
        try {
            table.leave();
        } catch (RuntimeException e) {
            log.warn("could not remove this replica's row and sessions: {}", e.toString());
        }
    }
}
