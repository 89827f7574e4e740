package dev.lattice.control.cli;

/** A command failed; the message is the one line printed on stderr (exit code 1). */
final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CliException(String message) {
        super(message);
    }

    CliException(String message, Throwable cause) {
        super(message, cause);
    }
}
