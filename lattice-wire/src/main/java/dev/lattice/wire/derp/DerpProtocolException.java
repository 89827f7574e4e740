package dev.lattice.wire.derp;

/** A DERP frame or handshake message that breaks the protocol. The connection that sent it should be closed. */
public final class DerpProtocolException extends IllegalArgumentException {
    public DerpProtocolException(String message) {
        super(message);
    }

    public DerpProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
