package dev.lattice.wire.ts2021;

import java.nio.charset.StandardCharsets;

/**
 * Wire layout of ts2021 messages (tailscale {@code control/controlbase/messages.go}). Every message starts with a
 * 3-byte header {@code type u8 | length u16 BE}; the initiation alone is prefixed by the protocol version:
 * <pre>
 * initiation (101 B) = version u16 BE | 0x01 | len u16 BE (=96) | e (32) | enc(s) (48) | tag (16)
 * response   (51 B)  = 0x02 | len u16 BE (=48) | e (32) | tag (16)
 * error              = 0x03 | len u16 BE | ASCII text       (sent instead of a response)
 * record             = 0x04 | len u16 BE | ciphertext (≤ 4093 B, i.e. ≤ 4077 B of plaintext)
 * </pre>
 */
public final class ControlMessages {
    public static final int TYPE_INITIATION = 0x01;
    public static final int TYPE_RESPONSE = 0x02;
    public static final int TYPE_ERROR = 0x03;
    public static final int TYPE_RECORD = 0x04;

    public static final int HEADER_LEN = 3;
    public static final int INITIATION_PAYLOAD_LEN = 32 + 48 + 16;
    public static final int INITIATION_LEN = 2 + HEADER_LEN + INITIATION_PAYLOAD_LEN;
    public static final int RESPONSE_PAYLOAD_LEN = 32 + 16;
    public static final int RESPONSE_LEN = HEADER_LEN + RESPONSE_PAYLOAD_LEN;

    /** Largest message on the wire, header included (controlbase's maxMessageSize). */
    public static final int MAX_MESSAGE_LEN = 4096;
    public static final int MAX_CIPHERTEXT_LEN = MAX_MESSAGE_LEN - HEADER_LEN;
    public static final int TAG_LEN = 16;
    public static final int MAX_PLAINTEXT_LEN = MAX_CIPHERTEXT_LEN - TAG_LEN;

    private ControlMessages() {}

    /** A parsed initiation: the client's protocol (capability) version and the 96-byte Noise message. */
    public record Initiation(int version, byte[] noiseMessage) {
        public static Initiation parse(byte[] msg) throws ControlProtocolException {
            if (msg == null || msg.length != INITIATION_LEN) {
                throw new ControlProtocolException("wrong handshake initiation size");
            }
            if ((msg[2] & 0xff) != TYPE_INITIATION) throw new ControlProtocolException("unexpected handshake message type");
            if (u16(msg, 3) != INITIATION_PAYLOAD_LEN) throw new ControlProtocolException("wrong handshake initiation length");
            byte[] noise = new byte[INITIATION_PAYLOAD_LEN];
            System.arraycopy(msg, 2 + HEADER_LEN, noise, 0, noise.length);
            return new Initiation(u16(msg, 0), noise);
        }

        public byte[] encode() {
            if (noiseMessage.length != INITIATION_PAYLOAD_LEN) throw new IllegalStateException("initiation payload must be 96 bytes");
            byte[] out = new byte[INITIATION_LEN];
            out[0] = (byte) (version >>> 8);
            out[1] = (byte) version;
            out[2] = TYPE_INITIATION;
            out[3] = 0;
            out[4] = (byte) INITIATION_PAYLOAD_LEN;
            System.arraycopy(noiseMessage, 0, out, 5, noiseMessage.length);
            return out;
        }
    }

    /** The 51-byte response around the 48-byte Noise message. */
    public static byte[] response(byte[] noiseMessage) {
        if (noiseMessage.length != RESPONSE_PAYLOAD_LEN) throw new IllegalArgumentException("response payload must be 48 bytes");
        byte[] out = new byte[RESPONSE_LEN];
        out[0] = TYPE_RESPONSE;
        out[1] = 0;
        out[2] = (byte) RESPONSE_PAYLOAD_LEN;
        System.arraycopy(noiseMessage, 0, out, HEADER_LEN, noiseMessage.length);
        return out;
    }

    /**
     * An error message refusing the handshake. The text is fixed by the server (never echoes client input) and is
     * shown by the client as {@code server error: "..."}.
     */
    public static byte[] error(String text) {
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        int len = Math.min(t.length, 0xffff);
        byte[] out = new byte[HEADER_LEN + len];
        out[0] = TYPE_ERROR;
        out[1] = (byte) (len >>> 8);
        out[2] = (byte) len;
        System.arraycopy(t, 0, out, HEADER_LEN, len);
        return out;
    }

    static int u16(byte[] b, int off) {
        return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff);
    }
}
