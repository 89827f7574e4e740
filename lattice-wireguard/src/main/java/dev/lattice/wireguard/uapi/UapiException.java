package dev.lattice.wireguard.uapi;

import java.util.Objects;

/**
 * A UAPI request that failed, carrying the {@link UapiError} whose errno goes back to the client. The message is
 * for logs and humans; it never contains private or preshared key material.
 */
public final class UapiException extends Exception {
    private static final long serialVersionUID = 1L;

    private final UapiError error;

    public UapiException(UapiError error, String message) {
        super(message);
        this.error = Objects.requireNonNull(error, "error");
    }

    public UapiException(UapiError error, String message, Throwable cause) {
        super(message, cause);
        this.error = Objects.requireNonNull(error, "error");
    }

    public UapiError error() {
        return error;
    }

    /** The number to report as {@code errno=<n>}. */
    public int errno() {
        return error.errno();
    }
}
