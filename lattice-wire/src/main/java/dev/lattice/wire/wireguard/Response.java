package dev.lattice.wire.wireguard;

import java.util.Arrays;

/** A parsed handshake response (type 2, 92 bytes). */
public record Response(int sender, int receiver, byte[] ephemeral, byte[] encryptedEmpty, byte[] mac1, byte[] mac2) {

    public static Response parse(byte[] b, int off, int len) {
        if (WgMessage.classify(b, off, len) != WgMessage.TYPE_RESPONSE) {
            throw new IllegalArgumentException("not a handshake response");
        }
        return new Response(WgMessage.getU32(b, off + 4), WgMessage.getU32(b, off + 8),
                Arrays.copyOfRange(b, off + 12, off + 44),
                Arrays.copyOfRange(b, off + 44, off + 60),
                Arrays.copyOfRange(b, off + 60, off + 76),
                Arrays.copyOfRange(b, off + 76, off + 92));
    }

    public static byte[] encode(int sender, int receiver, byte[] noiseMessage) {
        if (noiseMessage.length != 48) throw new IllegalArgumentException("noise message 2 must be 48 bytes");
        byte[] m = new byte[WgMessage.RESPONSE_SIZE];
        m[0] = WgMessage.TYPE_RESPONSE;
        WgMessage.putU32(m, 4, sender);
        WgMessage.putU32(m, 8, receiver);
        System.arraycopy(noiseMessage, 0, m, 12, 48);
        return m;
    }

    public byte[] noiseMessage() {
        byte[] n = new byte[48];
        System.arraycopy(ephemeral, 0, n, 0, 32);
        System.arraycopy(encryptedEmpty, 0, n, 32, 16);
        return n;
    }
}
