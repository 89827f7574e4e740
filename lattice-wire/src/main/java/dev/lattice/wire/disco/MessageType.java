package dev.lattice.wire.disco;

/** The first byte of an inner disco message. */
public enum MessageType {
    PING(0x01),
    PONG(0x02),
    CALL_ME_MAYBE(0x03),
    BIND_UDP_RELAY_ENDPOINT(0x04),
    BIND_UDP_RELAY_ENDPOINT_CHALLENGE(0x05),
    BIND_UDP_RELAY_ENDPOINT_ANSWER(0x06),
    CALL_ME_MAYBE_VIA(0x07),
    ALLOCATE_UDP_RELAY_ENDPOINT_REQUEST(0x08),
    ALLOCATE_UDP_RELAY_ENDPOINT_RESPONSE(0x09);

    private static final MessageType[] BY_CODE = new MessageType[256];

    static {
        for (MessageType t : values()) BY_CODE[t.code] = t;
    }

    private final int code;

    MessageType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The type for a wire byte, or null if Tailscale defines none. */
    public static MessageType of(int code) {
        return BY_CODE[code & 0xff];
    }
}
