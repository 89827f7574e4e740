package dev.lattice.wire.ts2021;

import dev.lattice.crypto.AeadException;
import dev.lattice.crypto.noise.CipherState;
import dev.lattice.crypto.noise.NonceEncoding;

/**
 * One direction of an established ts2021 channel: seals plaintext into records and opens records. Nonces are a
 * big-endian counter (controlbase deviates from Noise's little-endian). Not thread-safe; one reader or one writer.
 */
public final class ControlCipher {
    private final CipherState state;

    public ControlCipher(CipherState state) {
        if (state.encoding() != NonceEncoding.BIG_ENDIAN) throw new IllegalArgumentException("ts2021 uses big-endian nonces");
        this.state = state;
    }

    /**
     * Seals {@code len} bytes (at most {@link ControlMessages#MAX_PLAINTEXT_LEN}) into one complete record, header
     * included.
     */
    public byte[] sealRecord(byte[] plaintext, int off, int len) {
        if (len > ControlMessages.MAX_PLAINTEXT_LEN) throw new IllegalArgumentException("record plaintext too long: " + len);
        byte[] pt = off == 0 && len == plaintext.length ? plaintext : java.util.Arrays.copyOfRange(plaintext, off, off + len);
        byte[] ct = state.encryptWithAd(null, pt);
        byte[] out = new byte[ControlMessages.HEADER_LEN + ct.length];
        out[0] = ControlMessages.TYPE_RECORD;
        out[1] = (byte) (ct.length >>> 8);
        out[2] = (byte) ct.length;
        System.arraycopy(ct, 0, out, ControlMessages.HEADER_LEN, ct.length);
        return out;
    }

    /** Seals any amount of plaintext as consecutive records (the stream is what matters, not record boundaries). */
    public byte[] sealStream(byte[] plaintext) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(plaintext.length + 32);
        int off = 0;
        do {
            int n = Math.min(ControlMessages.MAX_PLAINTEXT_LEN, plaintext.length - off);
            out.writeBytes(sealRecord(plaintext, off, n));
            off += n;
        } while (off < plaintext.length);
        return out.toByteArray();
    }

    /** Opens the ciphertext of one record (the bytes after its 3-byte header). */
    public byte[] openRecord(byte[] ciphertext) throws ControlProtocolException {
        if (ciphertext.length < ControlMessages.TAG_LEN || ciphertext.length > ControlMessages.MAX_CIPHERTEXT_LEN) {
            throw new ControlProtocolException("record of invalid length " + ciphertext.length);
        }
        try {
            return state.decryptWithAd(null, ciphertext);
        } catch (AeadException e) {
            throw new ControlProtocolException("record failed authentication", e);
        }
    }

    public long nonce() {
        return state.nonce();
    }
}
