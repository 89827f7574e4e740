package dev.lattice.wireguard.device;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A re-armable one-shot timer, cheap to {@link #mod} on every packet. wireguard-go re-arms several timers per
 * packet; doing that with ScheduledFuture cancel/reschedule would allocate per packet. Here {@code mod} only
 * moves a volatile deadline; a scheduled check fires at the old deadline at the earliest and re-sleeps until
 * the current one, so at most one task per timer is ever queued.
 */
final class PeerTimer {
    private final ScheduledExecutorService scheduler;
    private final Runnable action;
    private final Clock clock;
    /** Absolute deadline in clock nanos; 0 = not armed. */
    private volatile long deadline;
    /** Time of the queued check, or 0 when none is queued. Guarded by this. */
    private long queuedAt;

    PeerTimer(ScheduledExecutorService scheduler, Clock clock, Runnable action) {
        this.scheduler = scheduler;
        this.clock = clock;
        this.action = action;
    }

    /** Arms the timer to fire {@code delayNanos} from now, replacing any earlier setting. */
    void mod(long delayNanos) {
        long d = clock.nanoTime() + delayNanos;
        if (d == 0) d = 1;
        deadline = d;
        synchronized (this) {
            if (queuedAt != 0 && queuedAt - d <= 0) return; // a check already queued will see the new deadline
            queuedAt = d;
        }
        schedule(delayNanos);
    }

    void del() {
        deadline = 0;
    }

    boolean isPending() {
        return deadline != 0;
    }

    private void schedule(long delayNanos) {
        try {
            scheduler.schedule(this::check, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // device shutting down
        }
    }

    private void check() {
        long d = deadline;
        long now = clock.nanoTime();
        synchronized (this) {
            queuedAt = 0;
            if (d == 0) return;
            if (d - now > 0) {
                queuedAt = d;
                schedule(d - now);
                return;
            }
            deadline = 0;
        }
        action.run();
    }
}
