package dev.lattice.control.store;

/** A pre-auth key or API key was refused; {@link #reason()} is what the server reports to the client. */
public final class AuthKeyException extends StoreException {
    private static final long serialVersionUID = 1L;

    public enum Reason {
        /** Not a key of ours: wrong format, unknown prefix, or wrong secret (indistinguishable on purpose). */
        UNKNOWN,
        EXPIRED,
        /** A single-use key that has already registered a node. */
        ALREADY_USED
    }

    private final Reason reason;

    public AuthKeyException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
