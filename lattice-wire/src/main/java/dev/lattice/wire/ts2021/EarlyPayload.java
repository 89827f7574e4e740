package dev.lattice.wire.ts2021;

import java.nio.charset.StandardCharsets;

/**
 * The server's first plaintext on a ts2021 channel, before any HTTP/2 bytes: {@code FF FF FF 'T' 'S'} | u32 BE
 * length | JSON (tailcfg.EarlyNoise). The magic cannot start an HTTP/2 frame, so clients can tell it apart.
 */
public final class EarlyPayload {
    public static final byte[] MAGIC = {(byte) 0xff, (byte) 0xff, (byte) 0xff, 'T', 'S'};
    /** Clients refuse larger early payloads; so do we. */
    public static final int MAX_JSON_LEN = 10 << 10;

    private EarlyPayload() {}

    public static byte[] encode(String json) {
        byte[] j = json.getBytes(StandardCharsets.UTF_8);
        if (j.length > MAX_JSON_LEN) throw new IllegalArgumentException("early payload too long");
        byte[] out = new byte[MAGIC.length + 4 + j.length];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        int o = MAGIC.length;
        out[o] = (byte) (j.length >>> 24);
        out[o + 1] = (byte) (j.length >>> 16);
        out[o + 2] = (byte) (j.length >>> 8);
        out[o + 3] = (byte) j.length;
        System.arraycopy(j, 0, out, o + 4, j.length);
        return out;
    }

    /** True if {@code prefix} (at least 5 bytes) starts with the magic. */
    public static boolean startsWithMagic(byte[] prefix) {
        if (prefix.length < MAGIC.length) return false;
        for (int i = 0; i < MAGIC.length; i++) if (prefix[i] != MAGIC[i]) return false;
        return true;
    }

    /** Length of the JSON that follows the 9-byte header, or an exception for a bad or oversized header. */
    public static int jsonLength(byte[] header9) throws ControlProtocolException {
        if (!startsWithMagic(header9) || header9.length < 9) throw new ControlProtocolException("not an early payload");
        long len = ((header9[5] & 0xffL) << 24) | ((header9[6] & 0xff) << 16) | ((header9[7] & 0xff) << 8) | (header9[8] & 0xff);
        if (len > MAX_JSON_LEN) throw new ControlProtocolException("early payload too long: " + len);
        return (int) len;
    }
}
