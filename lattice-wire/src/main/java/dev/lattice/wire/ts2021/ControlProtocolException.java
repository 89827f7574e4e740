package dev.lattice.wire.ts2021;

/** A ts2021 peer sent something malformed or unauthenticated; the message is safe to show to that peer. */
public final class ControlProtocolException extends Exception {
    public ControlProtocolException(String message) {
        super(message);
    }

    public ControlProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
