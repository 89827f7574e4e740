package dev.lattice.control.cli;

/** The command line itself is wrong (a missing or contradictory flag): one line on stderr, exit code 2. */
final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
