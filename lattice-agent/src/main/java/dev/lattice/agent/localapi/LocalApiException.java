package dev.lattice.agent.localapi;

import java.io.IOException;

/**
 * A local API call that failed: the daemon answered with an error ({@link #status()} is its HTTP status and the
 * message its {@code "error"} text), or it could not be reached at all ({@link #notRunning()}).
 */
public class LocalApiException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public LocalApiException(int status, String message) {
        super(message);
        this.status = status;
    }

    LocalApiException(String message, Throwable cause) {
        super(message, cause);
        this.status = 0;
    }

    /** The HTTP status, or 0 when there was no answer (daemon not running, connection broken, timeout). */
    public int status() {
        return status;
    }

    /** The daemon is not listening on the socket. */
    public boolean notRunning() {
        return false;
    }

    /** No daemon listens on the socket (missing file or connection refused); the message says so like tailscale's. */
    public static final class NotRunning extends LocalApiException {
        private static final long serialVersionUID = 1L;

        NotRunning(java.nio.file.Path socket, Throwable cause) {
            super("failed to connect to local latticed; it doesn't appear to be running (socket " + socket + ")", cause);
        }

        @Override
        public boolean notRunning() {
            return true;
        }
    }
}
