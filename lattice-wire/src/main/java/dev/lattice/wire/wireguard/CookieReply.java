package dev.lattice.wire.wireguard;

import java.util.Arrays;

/** A parsed cookie reply (type 3, 64 bytes): the responder's answer to a handshake while under load. */
public record CookieReply(int receiver, byte[] nonce, byte[] encryptedCookie) {

    public static CookieReply parse(byte[] b, int off, int len) {
        if (WgMessage.classify(b, off, len) != WgMessage.TYPE_COOKIE_REPLY) {
            throw new IllegalArgumentException("not a cookie reply");
        }
        return new CookieReply(WgMessage.getU32(b, off + 4),
                Arrays.copyOfRange(b, off + 8, off + 32),
                Arrays.copyOfRange(b, off + 32, off + 64));
    }

    public byte[] encode() {
        if (nonce.length != 24 || encryptedCookie.length != 32) throw new IllegalArgumentException("bad cookie reply");
        byte[] m = new byte[WgMessage.COOKIE_REPLY_SIZE];
        m[0] = WgMessage.TYPE_COOKIE_REPLY;
        WgMessage.putU32(m, 4, receiver);
        System.arraycopy(nonce, 0, m, 8, 24);
        System.arraycopy(encryptedCookie, 0, m, 32, 32);
        return m;
    }
}
