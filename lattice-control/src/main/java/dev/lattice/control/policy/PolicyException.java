package dev.lattice.control.policy;

/**
 * A policy that cannot be used, with a message for the admin: where ({@code line:column} when known) and what
 * is wrong (unknown group, undefined tag owner, bad port range, unknown autogroup, a failing test...).
 */
public class PolicyException extends Exception {
    private final int line;
    private final int column;

    public PolicyException(String message) {
        this(message, 0, 0);
    }

    /** {@code line}/{@code column} are 1-based; 0 when the problem has no single position. */
    public PolicyException(String message, int line, int column) {
        super(line > 0 ? "line " + line + ", column " + column + ": " + message : message);
        this.line = line;
        this.column = column;
    }

    public int line() {
        return line;
    }

    public int column() {
        return column;
    }
}
