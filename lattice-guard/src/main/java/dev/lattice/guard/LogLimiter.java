package dev.lattice.guard;

import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * One-line log messages about bad input, at most one per source per interval, and at most a few per second in
 * all: whatever a client sends, the log grows by a bounded amount. A message that follows suppressed ones says
 * how many were dropped. Never give it a throwable; put {@code e.toString()} in the message if the cause helps.
 */
public final class LogLimiter {
    /** Sources remembered at most; beyond that the oldest are forgotten (and may log again). */
    static final int MAX_SOURCES = 4096;

    private final Logger log;
    private final long intervalNanos;
    private final int burstPerSecond;
    private final LongSupplier clock;
    private final Map<Object, Entry> sources = new ConcurrentHashMap<>();
    private final AtomicLong windowStart = new AtomicLong();
    private final AtomicLong windowCount = new AtomicLong();
    private final AtomicLong globallySuppressed = new AtomicLong();

    private static final class Entry {
        volatile long last;
        final AtomicLong suppressed = new AtomicLong();

        Entry(long last) {
            this.last = last;
        }
    }

    public enum Level { DEBUG, INFO, WARN }

    /** At most one line per source per {@code interval}, and {@code burstPerSecond} lines a second in all. */
    public LogLimiter(Logger log, Duration interval, int burstPerSecond) {
        this(log, interval, burstPerSecond, System::nanoTime);
    }

    LogLimiter(Logger log, Duration interval, int burstPerSecond, LongSupplier clock) {
        this.log = log;
        this.intervalNanos = interval.toNanos();
        this.burstPerSecond = burstPerSecond;
        this.clock = clock;
        this.windowStart.set(clock.getAsLong());
    }

    /** A limiter with one line per source per minute and 5 lines a second in all. */
    public static LogLimiter perMinute(Logger log) {
        return new LogLimiter(log, Duration.ofMinutes(1), 5);
    }

    public boolean warn(Object source, String format, Object... args) {
        return log(Level.WARN, source, format, args);
    }

    public boolean info(Object source, String format, Object... args) {
        return log(Level.INFO, source, format, args);
    }

    public boolean debug(Object source, String format, Object... args) {
        return log(Level.DEBUG, source, format, args);
    }

    /** Logs unless this source logged within the interval or the global rate is spent; returns whether it logged. */
    public boolean log(Level level, Object source, String format, Object... args) {
        if (!enabled(level)) return false;
        long now = clock.getAsLong();
        Object key = source == null ? "" : source;
        Entry e = sources.get(key);
        long dropped = 0;
        if (e == null) {
            if (sources.size() >= MAX_SOURCES) evict(now);
            Entry fresh = new Entry(now);
            e = sources.putIfAbsent(key, fresh);
            if (e != null) {
                e.suppressed.incrementAndGet();
                return false;
            }
            e = fresh;
        } else {
            long last = e.last;
            if (now - last < intervalNanos) {
                e.suppressed.incrementAndGet();
                return false;
            }
            synchronized (e) {
                if (e.last != last) {
                    e.suppressed.incrementAndGet();
                    return false;
                }
                e.last = now;
            }
            dropped = e.suppressed.getAndSet(0);
        }
        if (!takeGlobal(now)) {
            // the source's earlier drops stay its own; this line is counted once, as one of the others
            e.suppressed.addAndGet(dropped);
            globallySuppressed.incrementAndGet();
            return false;
        }
        long others = globallySuppressed.getAndSet(0);
        String msg = format;
        if (dropped > 0) msg += " (" + dropped + " similar from " + key + " suppressed)";
        if (others > 0) msg += " (" + others + " other messages suppressed)";
        switch (level) {
            case DEBUG -> log.debug(msg, args);
            case INFO -> log.info(msg, args);
            case WARN -> log.warn(msg, args);
        }
        return true;
    }

    /** Sources remembered now (tests). */
    int trackedSources() {
        return sources.size();
    }

    private boolean enabled(Level level) {
        return switch (level) {
            case DEBUG -> log.isDebugEnabled();
            case INFO -> log.isInfoEnabled();
            case WARN -> log.isWarnEnabled();
        };
    }

    private boolean takeGlobal(long now) {
        long start = windowStart.get();
        if (now - start >= 1_000_000_000L && windowStart.compareAndSet(start, now)) windowCount.set(0);
        return windowCount.incrementAndGet() <= burstPerSecond;
    }

    private void evict(long now) {
        for (Iterator<Entry> it = sources.values().iterator(); it.hasNext(); ) {
            if (now - it.next().last >= intervalNanos) it.remove();
        }
        // Everyone is recent: forget an arbitrary half rather than grow without bound.
        if (sources.size() >= MAX_SOURCES) {
            int drop = sources.size() / 2;
            for (Iterator<Object> it = sources.keySet().iterator(); it.hasNext() && drop-- > 0; ) {
                it.next();
                it.remove();
            }
        }
    }
}
