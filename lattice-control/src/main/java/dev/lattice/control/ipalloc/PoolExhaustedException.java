package dev.lattice.control.ipalloc;

/** Every address of a configured prefix is in use or reserved. */
public final class PoolExhaustedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PoolExhaustedException(String message) {
        super(message);
    }
}
