package dev.lattice.systemd;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.stream.Collectors;

/**
 * Bounds a daemon's stop: the shutdown hook's close runs as usual, but if it has not returned within the deadline
 * (an overloaded server whose event loops or workers do not drain, a close stuck on a dead peer) the process halts
 * with SIGTERM's usual status instead of running on until the service manager kills it. What the stuck close was
 * doing is reported first, so the hang can be fixed rather than only cut short. State survives this as it survives
 * kill -9 (the store's contract).
 */
public final class StopDeadline {
    /** Status of a JVM ended by SIGTERM (128 + 15), which the packaged units list as {@code SuccessExitStatus}. */
    public static final int SIGTERM_STATUS = 143;

    /** The default bound: well inside systemd's default {@code TimeoutStopSec} (90 s) and Kubernetes' grace (30 s). */
    public static final Duration DEFAULT = Duration.ofSeconds(20);

    private StopDeadline() {}

    /** {@link #run(Runnable, Duration, Consumer, IntConsumer)} with {@link #DEFAULT} and {@link Runtime#halt}. */
    public static void run(Runnable close, Consumer<String> report) {
        run(close, DEFAULT, report, Runtime.getRuntime()::halt);
    }

    /**
     * Runs {@code close} on this thread; if it is still running after {@code deadline}, passes one line naming where
     * it is to {@code report} and calls {@code halt} with {@link #SIGTERM_STATUS}.
     */
    public static void run(Runnable close, Duration deadline, Consumer<String> report, IntConsumer halt) {
        Thread closing = Thread.currentThread();
        CountDownLatch done = new CountDownLatch(1);
        Thread watchdog = Thread.ofPlatform().daemon().name("stop-deadline").start(() -> {
            try {
                if (done.await(deadline.toMillis(), TimeUnit.MILLISECONDS)) return;
            } catch (InterruptedException e) {
                return;
            }
            String limit = deadline.toMillis() % 1000 == 0 ? deadline.toSeconds() + " s" : deadline.toMillis() + " ms";
            report.accept("stopping did not finish within " + limit + "; exiting now (the stop was at "
                    + where(closing.getStackTrace()) + ")");
            halt.accept(SIGTERM_STATUS);
        });
        try {
            close.run();
        } finally {
            done.countDown();
            watchdog.interrupt();
        }
    }

    /**
     * Where the closing thread waits: its innermost frame (what it waits on), then the first frames outside the JDK
     * (which of our components did not close).
     */
    static String where(StackTraceElement[] stack) {
        if (stack.length == 0) return "an unknown place";
        java.util.stream.Stream<StackTraceElement> ours = Arrays.stream(stack).skip(1)
                .filter(f -> !f.getClassName().matches("^(java|javax|jdk|sun)\\..*")).limit(4);
        return java.util.stream.Stream.concat(java.util.stream.Stream.of(stack[0]), ours)
                .map(f -> f.getClassName().replaceFirst("^.*\\.", "") + "." + f.getMethodName()
                        + (f.getLineNumber() > 0 ? ":" + f.getLineNumber() : ""))
                .collect(Collectors.joining(" < "));
    }
}
