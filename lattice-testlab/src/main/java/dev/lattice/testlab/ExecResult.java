package dev.lattice.testlab;

import java.time.Duration;
import java.util.List;

/**
 * The outcome of one finished command.
 *
 * @param command  the argv that was run (including any {@code ip netns exec NS} prefix)
 * @param exitCode the exit status; -1 if the command was killed after its timeout
 * @param stdout   everything written to standard output (UTF-8)
 * @param stderr   everything written to standard error (UTF-8)
 * @param elapsed  wall-clock time from start to exit
 * @param timedOut true if the command ran past its timeout and was killed
 */
public record ExecResult(List<String> command, int exitCode, String stdout, String stderr, Duration elapsed,
                         boolean timedOut) {

    public ExecResult {
        command = List.copyOf(command);
    }

    /** True if the command exited with status 0 before its timeout. */
    public boolean ok() {
        return exitCode == 0 && !timedOut;
    }

    /** Returns this result if {@link #ok()}, else throws a {@link LabException} describing it. */
    public ExecResult orThrow() {
        if (!ok()) {
            throw new LabException(describe());
        }
        return this;
    }

    /** stdout and stderr together, for messages. */
    public String output() {
        if (stderr.isEmpty()) {
            return stdout;
        }
        if (stdout.isEmpty()) {
            return stderr;
        }
        return stdout + (stdout.endsWith("\n") ? "" : "\n") + stderr;
    }

    /**
     * A multi-line description: command, status, and (truncated) output. Arguments longer than {@value #LONG_ARG}
     * characters (a test JVM's classpath) are shortened: CI keeps only the start of a failure's message, and a 10 KB
     * classpath there used to hide the output that said what went wrong.
     */
    public String describe() {
        String status = timedOut ? "timed out after " + elapsed.toMillis() + " ms" : "exit " + exitCode;
        StringBuilder argv = new StringBuilder();
        for (String arg : command) {
            if (!argv.isEmpty()) argv.append(' ');
            argv.append(arg.length() > LONG_ARG ? arg.substring(0, 40) + "...(" + arg.length() + " chars)" : arg);
        }
        return "`" + argv + "` -> " + status + " (" + elapsed.toMillis() + " ms)"
                + section("stdout", stdout) + section("stderr", stderr);
    }

    static final int LONG_ARG = 200;

    private static String section(String name, String text) {
        if (text.isBlank()) {
            return "";
        }
        String t = text.length() > 4000 ? "...\n" + text.substring(text.length() - 4000) : text;
        return "\n--- " + name + " ---\n" + t.stripTrailing();
    }

    @Override
    public String toString() {
        return describe();
    }
}
