package dev.lattice.agent.ipn;

/** A request the backend cannot carry out, with a message meant for the CLI's user; {@code status} is the HTTP status the local API answers with. */
public class BackendException extends Exception {
    private final int status;

    public BackendException(int status, String message) {
        super(message);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
