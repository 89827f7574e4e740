package dev.lattice.agent.cli;

/** A command failed: the message goes to stderr as is, the exit code is 1 (tailscale's {@code main} does the same). */
final class CliException extends Exception {
    private static final long serialVersionUID = 1L;

    CliException(String message) {
        super(message);
    }
}
