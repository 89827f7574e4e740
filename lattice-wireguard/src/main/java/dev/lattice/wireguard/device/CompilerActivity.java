package dev.lattice.wireguard.device;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;

/**
 * Whether the JIT's compiler threads have gone quiet: the loopback warm-up runs until they have, so that a first
 * real transfer finds the data path compiled by C2 rather than queued behind the other start-up warm-ups' methods
 * (on two cores HotSpot has one C2 thread, and a fresh latticed kept it busy for ~7 s: the data path was still in
 * C1's profiling code when the first transfer came, which then ran at half speed for its first second).
 *
 * <p>The compilers' CPU time comes from {@code /proc/self/task/<tid>/stat} of the threads named {@code C1/C2
 * CompilerThre…} (HotSpot's names, cut to 15 characters by the kernel); the JDK has no API for it. Where that is
 * not readable {@link #ticks()} gives -1 and callers fall back to their own criterion.
 */
final class CompilerActivity {
    /** Clock ticks per second of {@code /proc}'s times: USER_HZ, 100 on every Linux architecture the JDK runs on. */
    static final long TICKS_PER_SECOND = 100;
    private static final Path TASKS = Path.of("/proc/self/task");

    private final LongSupplier ticks;
    private final long windowNanos;
    private final double busyShare;
    private long windowStart = Long.MIN_VALUE;
    private long ticksAtStart;

    /**
     * @param ticks the compilers' CPU time so far, in clock ticks, or negative when unknown ({@link #ticks()})
     * @param windowNanos how long a window of observation lasts
     * @param busyShare the share of a window the compilers may have used and still be quiet (0.1: 10%)
     */
    CompilerActivity(LongSupplier ticks, long windowNanos, double busyShare) {
        this.ticks = ticks;
        this.windowNanos = windowNanos;
        this.busyShare = busyShare;
    }

    /** Whether the compilers' time can be read here at all. */
    boolean measurable() {
        return ticks.getAsLong() >= 0;
    }

    /**
     * Called now and then with the time: true once a whole window has passed in which the compilers used at most
     * {@code busyShare} of it. The first call opens the first window; a busy window opens the next.
     */
    boolean quiet(long nowNanos) {
        if (windowStart == Long.MIN_VALUE) {
            windowStart = nowNanos;
            ticksAtStart = ticks.getAsLong();
            return false;
        }
        long elapsed = nowNanos - windowStart;
        if (elapsed < windowNanos) return false;
        long t = ticks.getAsLong();
        long usedNanos = (t - ticksAtStart) * (1_000_000_000L / TICKS_PER_SECOND);
        windowStart = nowNanos;
        ticksAtStart = t;
        return usedNanos <= busyShare * elapsed;
    }

    /** The JIT compiler threads' user and system time so far, in clock ticks; -1 if {@code /proc} cannot tell. */
    static long ticks() {
        long sum = 0;
        boolean any = false;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(TASKS)) {
            for (Path task : tasks) {
                String comm;
                String stat;
                try {
                    comm = Files.readString(task.resolve("comm"));
                    if (!comm.startsWith("C2 CompilerThre") && !comm.startsWith("C1 CompilerThre")) continue;
                    stat = Files.readString(task.resolve("stat"));
                } catch (IOException e) {
                    continue; // the thread ended meanwhile (HotSpot starts and stops compiler threads as it needs)
                }
                long t = cpuTicks(stat);
                if (t >= 0) {
                    sum += t;
                    any = true;
                }
            }
        } catch (IOException | UnsupportedOperationException e) {
            return -1;
        }
        return any ? sum : -1;
    }

    /**
     * utime + stime of one {@code /proc/<pid>/task/<tid>/stat} line (fields 14 and 15, counted after the command's
     * closing parenthesis, since the command itself may hold spaces and parentheses); -1 if the line is not one.
     */
    static long cpuTicks(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0) return -1;
        String[] f = stat.substring(close + 1).trim().split(" +");
        // after "pid (comm)": state is field 3, so utime (14) and stime (15) are at 11 and 12 here
        if (f.length < 13) return -1;
        try {
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
