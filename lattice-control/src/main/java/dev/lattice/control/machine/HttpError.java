package dev.lattice.control.machine;

/** An error answered as an HTTP status with a short text the client may show. */
public final class HttpError extends RuntimeException {
    private final int status;

    public HttpError(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
