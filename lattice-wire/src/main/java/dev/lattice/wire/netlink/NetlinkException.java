package dev.lattice.wire.netlink;

/** Bytes that are not a well-formed netlink message. */
public final class NetlinkException extends Exception {
    public NetlinkException(String message) {
        super(message);
    }
}
