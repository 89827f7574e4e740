package dev.lattice.testlab;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs commands in the namespace of the calling JVM (normally the root namespace) with a timeout and
 * captured output. {@link Host#exec} uses it with an {@code ip netns exec} prefix. Use this directly only
 * for commands that send no traffic (key generation, {@code ip netns list}, ...).
 */
public final class Exec {
    /** Timeout used by the overloads that take none. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private static final File DEV_NULL = new File("/dev/null");

    private Exec() {}

    /** Runs {@code command} with {@link #DEFAULT_TIMEOUT}; never throws for a non-zero exit. */
    public static ExecResult run(String... command) {
        return run(DEFAULT_TIMEOUT, null, Map.of(), List.of(command));
    }

    /** Runs {@code command}; throws {@link LabException} unless it exits 0 in time. */
    public static ExecResult runChecked(String... command) {
        return run(command).orThrow();
    }

    /**
     * Runs a command and waits for it.
     *
     * @param timeout after this the command and its descendants are killed and {@code timedOut} is set
     * @param stdin   text written to its standard input, or null for none (stdin is then /dev/null)
     * @param env     extra environment variables (added to this JVM's environment)
     * @throws LabException if the program cannot be started at all
     */
    public static ExecResult run(Duration timeout, String stdin, Map<String, String> env, List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(DEV_NULL));
        }
        long t0 = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new LabException("cannot start `" + String.join(" ", command) + "`: " + e.getMessage(), e);
        }
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        if (stdin != null) {
            try (OutputStream os = p.getOutputStream()) {
                os.write(stdin.getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the command may exit without reading its input
            }
        }
        boolean finished;
        try {
            finished = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            killTree(p.toHandle(), true);
            Thread.currentThread().interrupt();
            throw new LabException("interrupted while running `" + String.join(" ", command) + "`", e);
        }
        if (!finished) {
            killTree(p.toHandle(), true);
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
        return new ExecResult(command, finished ? p.exitValue() : -1, collect(out), collect(err), elapsed, !finished);
    }

    /** Kills a process and all its descendants: SIGKILL if {@code force}, else SIGTERM. */
    static void killTree(ProcessHandle h, boolean force) {
        List<ProcessHandle> all = new ArrayList<>(h.descendants().toList());
        all.add(h);
        for (ProcessHandle ph : all) {
            if (force) {
                ph.destroyForcibly();
            } else {
                ph.destroy();
            }
        }
    }

    private static CompletableFuture<String> drain(InputStream in) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread.ofVirtual().name("testlab-drain").start(() -> {
            try (in) {
                f.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                f.complete("<output lost: " + e + ">");
            }
        });
        return f;
    }

    private static String collect(CompletableFuture<String> f) {
        try {
            return f.get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "<interrupted>";
        } catch (ExecutionException | TimeoutException e) {
            // a grandchild we could not see may still hold the pipe open
            return "<output not collected: " + e + ">";
        }
    }
}
