package dev.lattice.wire.wireguard;

/**
 * WireGuard message layouts (whitepaper §5.4, wireguard-go {@code device/noise-protocol.go}). Every message
 * starts with a type byte followed by three zero bytes; integers are little-endian.
 *
 * <pre>
 * Initiation (148): type=1 | 0 0 0 | sender u32 | ephemeral 32 | static 32+16 | timestamp 12+16 | mac1 16 | mac2 16
 * Response    (92): type=2 | 0 0 0 | sender u32 | receiver u32 | ephemeral 32 | empty 0+16 | mac1 16 | mac2 16
 * CookieReply (64): type=3 | 0 0 0 | receiver u32 | nonce 24 | cookie 16+16
 * Transport (>=32): type=4 | 0 0 0 | receiver u32 | counter u64 | ciphertext (padded to 16) + tag 16
 * </pre>
 */
public final class WgMessage {
    public static final int TYPE_INITIATION = 1;
    public static final int TYPE_RESPONSE = 2;
    public static final int TYPE_COOKIE_REPLY = 3;
    public static final int TYPE_TRANSPORT = 4;

    public static final int INITIATION_SIZE = 148;
    public static final int RESPONSE_SIZE = 92;
    public static final int COOKIE_REPLY_SIZE = 64;
    public static final int TRANSPORT_HEADER_SIZE = 16;
    public static final int TAG_SIZE = 16;
    public static final int KEEPALIVE_SIZE = TRANSPORT_HEADER_SIZE + TAG_SIZE;
    public static final int PADDING_MULTIPLE = 16;

    public static final int TRANSPORT_OFFSET_RECEIVER = 4;
    public static final int TRANSPORT_OFFSET_COUNTER = 8;

    /** Offsets of the two MACs in the handshake messages: the MACs cover every byte before them. */
    public static final int INITIATION_MAC1_OFFSET = 116;
    public static final int RESPONSE_MAC1_OFFSET = 60;

    private WgMessage() {}

    /**
     * The message type of a datagram if its header and length are plausible, else 0. Only transport messages
     * have variable length; handshake messages must have their exact size.
     */
    public static int classify(byte[] b, int off, int len) {
        if (len < 4) return 0;
        if (b[off + 1] != 0 || b[off + 2] != 0 || b[off + 3] != 0) return 0;
        int type = b[off];
        return switch (type) {
            case TYPE_INITIATION -> len == INITIATION_SIZE ? type : 0;
            case TYPE_RESPONSE -> len == RESPONSE_SIZE ? type : 0;
            case TYPE_COOKIE_REPLY -> len == COOKIE_REPLY_SIZE ? type : 0;
            case TYPE_TRANSPORT -> len >= KEEPALIVE_SIZE ? type : 0;
            default -> 0;
        };
    }

    public static int getU32(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    public static void putU32(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }

    public static long getU64(byte[] b, int off) {
        return (getU32(b, off) & 0xffffffffL) | ((long) getU32(b, off + 4) << 32);
    }

    public static void putU64(byte[] b, int off, long v) {
        putU32(b, off, (int) v);
        putU32(b, off + 4, (int) (v >>> 32));
    }

    /** Writes a transport header (type 4, receiver index, counter) at {@code off}. */
    public static void putTransportHeader(byte[] b, int off, int receiver, long counter) {
        b[off] = TYPE_TRANSPORT;
        b[off + 1] = 0;
        b[off + 2] = 0;
        b[off + 3] = 0;
        putU32(b, off + TRANSPORT_OFFSET_RECEIVER, receiver);
        putU64(b, off + TRANSPORT_OFFSET_COUNTER, counter);
    }

    /** Plaintext length after zero padding to a multiple of 16, never beyond {@code mtu}. */
    public static int paddedLength(int len, int mtu) {
        int padded = (len + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1);
        if (mtu > 0 && padded > mtu) padded = Math.max(len, mtu);
        return padded;
    }
}
