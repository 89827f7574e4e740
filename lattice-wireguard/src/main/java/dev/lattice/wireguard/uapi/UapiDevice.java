package dev.lattice.wireguard.uapi;

/**
 * The device as the UAPI sees it. {@link UapiServer} calls these from its connection threads; it never runs an
 * {@code apply} concurrently with another {@code apply} or a {@code state}, like wireguard-go's {@code ipcMutex},
 * but the device must still guard against its own threads.
 */
public interface UapiDevice {

    /** A consistent snapshot for {@code get=1}. */
    DeviceState state();

    /**
     * Applies one {@code set=1} transaction; see {@link UapiSet} and {@link PeerChange} for the exact semantics.
     *
     * <p>wireguard-go applies a transaction line by line and stops at the first bad line, keeping what it already
     * applied. To behave the same, the server parses the whole transaction first and, when a line is bad, calls
     * {@code apply} with the blocks before that line (if there are any) and then reports the line's error.
     *
     * @throws UapiException with {@link UapiError#PORT_IN_USE} when the listen port cannot be bound or the fwmark
     *                       cannot be set, {@link UapiError#INVALID} when a peer cannot be created (for example too
     *                       many peers); other runtime failures are reported as {@link UapiError#UNKNOWN}
     */
    void apply(UapiSet set) throws UapiException;
}
