package dev.lattice.control.store;

/** A write would break a uniqueness rule (user name, machine key, node key, given name, address, ...). */
public final class ConflictException extends StoreException {
    private static final long serialVersionUID = 1L;

    public ConflictException(String message, Throwable cause) {
        super(message, cause);
    }
}
