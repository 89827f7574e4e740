package dev.lattice.wire.wireguard;

import java.util.Arrays;

/** A parsed handshake initiation (type 1, 148 bytes). Byte arrays are copies of the message fields. */
public record Initiation(int sender, byte[] ephemeral, byte[] encryptedStatic, byte[] encryptedTimestamp,
                         byte[] mac1, byte[] mac2) {

    public static Initiation parse(byte[] b, int off, int len) {
        if (WgMessage.classify(b, off, len) != WgMessage.TYPE_INITIATION) {
            throw new IllegalArgumentException("not a handshake initiation");
        }
        return new Initiation(WgMessage.getU32(b, off + 4),
                Arrays.copyOfRange(b, off + 8, off + 40),
                Arrays.copyOfRange(b, off + 40, off + 88),
                Arrays.copyOfRange(b, off + 88, off + 116),
                Arrays.copyOfRange(b, off + 116, off + 132),
                Arrays.copyOfRange(b, off + 132, off + 148));
    }

    /** Lays out the message with zero MACs; the caller fills them over the finished bytes. */
    public static byte[] encode(int sender, byte[] noiseMessage) {
        if (noiseMessage.length != 108) throw new IllegalArgumentException("noise message 1 must be 108 bytes");
        byte[] m = new byte[WgMessage.INITIATION_SIZE];
        m[0] = WgMessage.TYPE_INITIATION;
        WgMessage.putU32(m, 4, sender);
        System.arraycopy(noiseMessage, 0, m, 8, 108);
        return m;
    }

    /** The Noise part: ephemeral ‖ encrypted static ‖ encrypted timestamp. */
    public byte[] noiseMessage() {
        byte[] n = new byte[108];
        System.arraycopy(ephemeral, 0, n, 0, 32);
        System.arraycopy(encryptedStatic, 0, n, 32, 48);
        System.arraycopy(encryptedTimestamp, 0, n, 80, 28);
        return n;
    }
}
