package dev.lattice.crypto;

import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.crypto.engines.Salsa20Engine;
import org.bouncycastle.crypto.engines.XSalsa20Engine;
import org.bouncycastle.crypto.macs.Poly1305;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.crypto.params.ParametersWithIV;

/**
 * NaCl's {@code crypto_box} (curve25519-xsalsa20-poly1305) with the layout of Go's
 * {@code golang.org/x/crypto/nacl/box}: a box is tag(16) || ciphertext, the nonce travels separately.
 * Disco and DERP use it. Like Go's box (and unlike libsodium) a low-order peer key is not rejected: the
 * resulting key is public, so such a peer only exposes its own traffic.
 */
public final class NaclBox {
    public static final int NONCE_LEN = 24;
    public static final int TAG_LEN = 16;

    private NaclBox() {}

    public static byte[] seal(byte[] plaintext, byte[] nonce24, byte[] peerPublic, byte[] myPrivate) {
        return precompute(peerPublic, myPrivate).seal(plaintext, nonce24);
    }

    public static byte[] open(byte[] box, byte[] nonce24, byte[] peerPublic, byte[] myPrivate) throws AeadException {
        return precompute(peerPublic, myPrivate).open(box, nonce24);
    }

    /** {@code crypto_box_beforenm}: HSalsa20(X25519(myPrivate, peerPublic), 16 zero bytes). */
    public static SharedKey precompute(byte[] peerPublic, byte[] myPrivate) {
        X25519.check(peerPublic, "public key");
        X25519.check(myPrivate, "private key");
        byte[] shared = new byte[32];
        org.bouncycastle.math.ec.rfc7748.X25519.scalarMult(myPrivate, 0, peerPublic, 0, shared, 0);
        byte[] k = hsalsa20(shared, new byte[16]);
        Arrays.fill(shared, (byte) 0);
        return new SharedKey(k);
    }

    /**
     * HSalsa20 (the XSalsa20 paper, §2): the Salsa20 core over (constants, key, 16-byte input) without the final
     * feed-forward, keeping words 0, 5, 10, 15, 6, 7, 8, 9.
     */
    static byte[] hsalsa20(byte[] key32, byte[] in16) {
        int[] x = new int[16];
        x[0] = 0x61707865; // "expand 32-byte k"
        x[5] = 0x3320646e;
        x[10] = 0x79622d32;
        x[15] = 0x6b206574;
        for (int i = 0; i < 4; i++) {
            x[1 + i] = le32(key32, 4 * i);
            x[11 + i] = le32(key32, 16 + 4 * i);
            x[6 + i] = le32(in16, 4 * i);
        }
        int[] y = new int[16];
        Salsa20Engine.salsaCore(20, x, y);
        // salsaCore adds the input words back in (Salsa20's feed-forward); HSalsa20 has none, so subtract them.
        int[] pick = {0, 5, 10, 15, 6, 7, 8, 9};
        byte[] out = new byte[32];
        for (int i = 0; i < 8; i++) {
            int w = y[pick[i]] - x[pick[i]];
            for (int b = 0; b < 4; b++) out[4 * i + b] = (byte) (w >>> (8 * b));
        }
        Arrays.fill(x, 0);
        Arrays.fill(y, 0);
        return out;
    }

    private static int le32(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    /**
     * A precomputed box key ({@code crypto_box_afternm} / NaCl secretbox): XSalsa20 keystream block bytes 0..32 are
     * the one-time Poly1305 key, the rest encrypts the message. Immutable and thread-safe.
     */
    public static final class SharedKey {
        private final byte[] key;

        SharedKey(byte[] key) {
            if (key == null || key.length != 32) throw new IllegalArgumentException("box key must be 32 bytes");
            this.key = key.clone();
        }

        /** Returns tag(16) || ciphertext. */
        public byte[] seal(byte[] plaintext, byte[] nonce24) {
            Objects.requireNonNull(plaintext, "plaintext");
            XSalsa20Engine xs = stream(nonce24);
            byte[] polyKey = new byte[32];
            xs.processBytes(polyKey, 0, 32, polyKey, 0);
            byte[] box = new byte[TAG_LEN + plaintext.length];
            xs.processBytes(plaintext, 0, plaintext.length, box, TAG_LEN);
            tag(polyKey, box, box, 0);
            return box;
        }

        public byte[] open(byte[] box, byte[] nonce24) throws AeadException {
            Objects.requireNonNull(box, "box");
            if (box.length < TAG_LEN) throw new AeadException("NaCl box authentication failed: input shorter than the tag");
            XSalsa20Engine xs = stream(nonce24);
            byte[] polyKey = new byte[32];
            xs.processBytes(polyKey, 0, 32, polyKey, 0);
            byte[] expected = new byte[TAG_LEN];
            tag(polyKey, box, expected, 0);
            if (!ConstantTime.equal(expected, Arrays.copyOf(box, TAG_LEN))) {
                throw new AeadException("NaCl box authentication failed");
            }
            byte[] out = new byte[box.length - TAG_LEN];
            xs.processBytes(box, TAG_LEN, out.length, out, 0);
            return out;
        }

        private XSalsa20Engine stream(byte[] nonce24) {
            if (nonce24 == null || nonce24.length != NONCE_LEN) throw new IllegalArgumentException("NaCl box nonce must be 24 bytes");
            XSalsa20Engine xs = new XSalsa20Engine();
            xs.init(true, new ParametersWithIV(new KeyParameter(key), nonce24));
            return xs;
        }

        /** Poly1305 over box[16..] with the one-time key, written to out[off..off+16); wipes the key. */
        private static void tag(byte[] polyKey, byte[] box, byte[] out, int off) {
            Poly1305 mac = new Poly1305();
            mac.init(new KeyParameter(polyKey));
            mac.update(box, TAG_LEN, box.length - TAG_LEN);
            mac.doFinal(out, off);
            Arrays.fill(polyKey, (byte) 0);
        }

        @Override
        public String toString() {
            return "NaclBox.SharedKey[redacted]";
        }
    }
}
