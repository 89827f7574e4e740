package dev.lattice.wire.disco;

/** Bytes that are not a disco packet or message Tailscale would accept; the message says why. */
public final class DiscoException extends IllegalArgumentException {
    public DiscoException(String message) {
        super(message);
    }
}
