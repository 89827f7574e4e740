package dev.lattice.control.store;

/** A write would break a uniqueness rule (user name, machine key, node key, given name, address, ...). */
public class ConflictException extends StoreException {
    private static final long serialVersionUID = 1L;

    private final String column;

    public ConflictException(String message, Throwable cause) {
        this(message, cause, null);
    }

    /** @param column the column whose unique constraint the write broke (e.g. {@code ipv4}), or null when unknown */
    public ConflictException(String message, Throwable cause, String column) {
        super(message, cause);
        this.column = column;
    }

    /** The column whose value is taken ({@code ipv4}, {@code ipv6}, {@code given_name}, ...), or null when unknown. */
    public String column() {
        return column;
    }
}
