package dev.lattice.wire.stun;

/** A datagram that is not the STUN message the caller asked for; the message says why. */
public final class StunException extends IllegalArgumentException {
    public StunException(String message) {
        super(message);
    }
}
