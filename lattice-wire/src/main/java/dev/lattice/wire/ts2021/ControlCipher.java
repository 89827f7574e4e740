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
        byte[] out = new byte[recordLength(len)];
        sealRecordInto(plaintext, off, len, out, 0);
        return out;
    }

    /** The length of the record that {@code plaintextLen} bytes (at most the maximum) become: header, bytes, tag. */
    public static int recordLength(int plaintextLen) {
        return ControlMessages.HEADER_LEN + plaintextLen + ControlMessages.TAG_LEN;
    }

    /**
     * Seals {@code len} bytes (at most {@link ControlMessages#MAX_PLAINTEXT_LEN}) at {@code plaintext[off]} into one
     * complete record written to {@code out} at {@code outOff} (header, ciphertext, tag: {@link #recordLength} bytes,
     * which it returns), without copying the plaintext or the ciphertext.
     */
    public int sealRecordInto(byte[] plaintext, int off, int len, byte[] out, int outOff) {
        if (len > ControlMessages.MAX_PLAINTEXT_LEN) throw new IllegalArgumentException("record plaintext too long: " + len);
        int ctLen = len + ControlMessages.TAG_LEN;
        java.util.Objects.checkFromIndexSize(outOff, ControlMessages.HEADER_LEN + ctLen, out.length);
        out[outOff] = ControlMessages.TYPE_RECORD;
        out[outOff + 1] = (byte) (ctLen >>> 8);
        out[outOff + 2] = (byte) ctLen;
        state.encryptInto(plaintext, off, len, out, outOff + ControlMessages.HEADER_LEN);
        return ControlMessages.HEADER_LEN + ctLen;
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

    /**
     * Opens the ciphertext of one record ({@code len} bytes at {@code ciphertext[off]}, after its 3-byte header) into
     * {@code out} at {@code outOff}; returns the plaintext's length ({@code len} − 16).
     */
    public int openRecordInto(byte[] ciphertext, int off, int len, byte[] out, int outOff) throws ControlProtocolException {
        if (len < ControlMessages.TAG_LEN || len > ControlMessages.MAX_CIPHERTEXT_LEN) {
            throw new ControlProtocolException("record of invalid length " + len);
        }
        try {
            return state.decryptInto(ciphertext, off, len, out, outOff);
        } catch (AeadException e) {
            throw new ControlProtocolException("record failed authentication", e);
        }
    }

    public long nonce() {
        return state.nonce();
    }
}
