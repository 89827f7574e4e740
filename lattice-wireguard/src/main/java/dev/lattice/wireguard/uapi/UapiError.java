package dev.lattice.wireguard.uapi;

/**
 * The error classes of the UAPI, with the exact {@code errno=} numbers wireguard-go reports for them
 * ({@code ipc/uapi_unix.go}: negated Linux errno values, plus its own -55 for "unknown").
 */
public enum UapiError {
    /** {@code -EIO}: reading the request failed, e.g. a line longer than the line limit. */
    IO(-5),
    /** {@code -EPROTO}: a {@code set} line without {@code '='}. */
    PROTOCOL(-71),
    /** {@code -EINVAL}: an unknown key or an invalid value. Nearly every rejected request gets this. */
    INVALID(-22),
    /** {@code -EADDRINUSE}: the device could not bind {@code listen_port} or apply {@code fwmark}. */
    PORT_IN_USE(-98),
    /** {@code -55} (wireguard-go's {@code IpcErrorUnknown}): the device failed in an unexpected way. */
    UNKNOWN(-55);

    private final int errno;

    UapiError(int errno) {
        this.errno = errno;
    }

    /** The number written after {@code errno=} in the reply. */
    public int errno() {
        return errno;
    }
}
