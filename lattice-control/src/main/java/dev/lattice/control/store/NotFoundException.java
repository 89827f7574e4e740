package dev.lattice.control.store;

/** A write named a row that does not exist (e.g. renaming user 42 when there is none). */
public final class NotFoundException extends StoreException {
    private static final long serialVersionUID = 1L;

    public NotFoundException(String message) {
        super(message);
    }
}
