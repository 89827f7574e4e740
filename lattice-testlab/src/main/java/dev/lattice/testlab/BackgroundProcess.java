package dev.lattice.testlab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * A long-running command started in a {@link Host}'s namespace by {@link Host#spawn}. Its stdout and stderr
 * go (merged) to {@link #logFile()}. It is stopped by {@link #stop()}, or at the latest when its
 * {@link Lab} closes.
 */
public final class BackgroundProcess implements AutoCloseable {
    private final Host host;
    private final String label;
    private final List<String> command;
    private final Process process;
    private final Path logFile;

    BackgroundProcess(Host host, String label, List<String> command, Process process, Path logFile) {
        this.host = host;
        this.label = label;
        this.command = List.copyOf(command);
        this.process = process;
        this.logFile = logFile;
    }

    public Host host() {
        return host;
    }

    public String label() {
        return label;
    }

    public List<String> command() {
        return command;
    }

    /** PID of the started program ({@code ip netns exec} execs it, so this is the program itself). */
    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** The exit status if it has exited. */
    public OptionalInt exitCode() {
        return process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
    }

    public Path logFile() {
        return logFile;
    }

    /** Everything it has written so far (stdout and stderr merged). */
    public String output() {
        try {
            return Files.readString(logFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "<cannot read " + logFile + ": " + e.getMessage() + ">";
        }
    }

    /** The last {@code lines} lines of {@link #output()}. */
    public String tail(int lines) {
        List<String> all = output().lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    /**
     * Waits until {@code needle} appears in its output. Returns false if it did not within {@code timeout}
     * or the process exited first (without having printed it).
     */
    public boolean waitForOutput(String needle, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (output().contains(needle)) {
                return true;
            }
            if (!isAlive()) {
                return output().contains(needle);
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            Lab.sleep(Duration.ofMillis(50));
        }
    }

    /** Waits for it to exit; returns its status, or empty if it is still running after {@code timeout}. */
    public OptionalInt waitFor(Duration timeout) {
        try {
            if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                return OptionalInt.of(process.exitValue());
            }
            return OptionalInt.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalInt.empty();
        }
    }

    /** Sends SIGTERM to it and its descendants, waits up to {@code grace}, then SIGKILLs whatever is left. */
    public void stop(Duration grace) {
        if (!process.isAlive()) {
            return;
        }
        Exec.killTree(process.toHandle(), false);
        if (waitFor(grace).isEmpty()) {
            kill();
        }
    }

    /** {@link #stop(Duration)} with a 3 s grace period. */
    public void stop() {
        stop(Duration.ofSeconds(3));
    }

    /** SIGKILL to it and its descendants, then waits briefly for it to be gone. */
    public void kill() {
        Exec.killTree(process.toHandle(), true);
        waitFor(Duration.ofSeconds(5));
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    void termWithoutWaiting() {
        if (process.isAlive()) {
            Exec.killTree(process.toHandle(), false);
        }
    }

    @Override
    public String toString() {
        return label + "@" + host.name() + "(pid " + pid() + (isAlive() ? "" : ", exited " + exitCode().getAsInt())
                + ")";
    }
}
