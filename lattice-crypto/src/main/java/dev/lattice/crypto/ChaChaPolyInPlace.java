package dev.lattice.crypto;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * ChaCha20-Poly1305 (RFC 8439) in place on a byte array, allocating nothing per message: for a data path that seals
 * and opens a packet at a time. Not thread-safe (it keeps a keystream block as scratch): one per thread.
 *
 * <p>Why not the JDK's cipher, whose ChaCha20 and Poly1305 have vectorised intrinsics: it is initialised per
 * message, and each {@code Cipher.init} copies the key, builds a new Poly1305 with its big-integer limbs and
 * compares key and nonce with the previous ones. Under iperf3 that was about half of a WireGuard pair's CPU in
 * the cipher's set-up rather than its rounds, and ~250 MB/s of garbage. Here the key is expanded once per session
 * ({@link #key}) and a message costs its ChaCha20 blocks and Poly1305 blocks only.
 *
 * <p>Poly1305 works on five 26-bit limbs in {@code long}s (products of 52 bits, sums of five fit in 64), as
 * poly1305-donna's 32-bit code does. Tags are compared in constant time, and {@link #open} decrypts only after the
 * tag has been verified, so a forged message leaves the buffer as it was.
 */
public final class ChaChaPolyInPlace {
    public static final int KEY_LEN = 32;
    public static final int NONCE_LEN = 12;
    public static final int TAG_LEN = 16;

    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final int C0 = 0x61707865, C1 = 0x3320646e, C2 = 0x79622d32, C3 = 0x6b206574;
    private static final long M26 = 0x3ffffff;

    /** One keystream block (16 words), then the tail of a partial Poly1305 block. */
    private final int[] ks = new int[16];
    private final byte[] pad = new byte[16];

    /** The 32-byte key as the eight little-endian words ChaCha20 works on; keep it per session. */
    public static int[] key(byte[] key32) {
        Objects.requireNonNull(key32, "key");
        if (key32.length != KEY_LEN) throw new IllegalArgumentException("ChaCha20-Poly1305 key must be 32 bytes");
        int[] k = new int[8];
        for (int i = 0; i < 8; i++) k[i] = (int) INT.get(key32, 4 * i);
        return k;
    }

    /** Overwrites an expanded key (a session that ended). */
    public static void destroy(int[] key) {
        Arrays.fill(key, 0);
    }

    /**
     * Seals {@code b[off..off+len)} in place with WireGuard's nonce (32 zero bits, then {@code counter} as a
     * little-endian u64) and no associated data, appending the tag: returns {@code len + TAG_LEN}.
     */
    public int seal(int[] key, long counter, byte[] b, int off, int len) {
        return seal(key, 0, (int) counter, (int) (counter >>> 32), null, 0, 0, b, off, len);
    }

    /**
     * Opens ciphertext and tag at {@code b[off..off+len)} in place (WireGuard's nonce, no associated data); returns
     * the plaintext length, or -1 if the tag is wrong, in which case {@code b} is unchanged.
     */
    public int open(int[] key, long counter, byte[] b, int off, int len) {
        return open(key, 0, (int) counter, (int) (counter >>> 32), null, 0, 0, b, off, len);
    }

    /** Seals with a 12-byte nonce and optional associated data (null or empty for none). */
    public int seal(int[] key, byte[] nonce12, byte[] aad, byte[] b, int off, int len) {
        checkNonce(nonce12);
        return seal(key, (int) INT.get(nonce12, 0), (int) INT.get(nonce12, 4), (int) INT.get(nonce12, 8),
                aad, 0, aad == null ? 0 : aad.length, b, off, len);
    }

    /** Opens with a 12-byte nonce and optional associated data; the plaintext length or -1. */
    public int open(int[] key, byte[] nonce12, byte[] aad, byte[] b, int off, int len) {
        checkNonce(nonce12);
        return open(key, (int) INT.get(nonce12, 0), (int) INT.get(nonce12, 4), (int) INT.get(nonce12, 8),
                aad, 0, aad == null ? 0 : aad.length, b, off, len);
    }

    private int seal(int[] key, int n0, int n1, int n2, byte[] aad, int aadOff, int aadLen, byte[] b, int off, int len) {
        checkKey(key);
        Objects.checkFromIndexSize(off, len + TAG_LEN, b.length);
        if (aadLen > 0) Objects.checkFromIndexSize(aadOff, aadLen, aad.length);
        xor(key, 1, n0, n1, n2, b, off, len);
        tag(key, n0, n1, n2, aad, aadOff, aadLen, b, off, len);
        int[] t = ks;
        for (int i = 0; i < 4; i++) INT.set(b, off + len + 4 * i, t[i]);
        return len + TAG_LEN;
    }

    private int open(int[] key, int n0, int n1, int n2, byte[] aad, int aadOff, int aadLen, byte[] b, int off, int len) {
        checkKey(key);
        if (len < TAG_LEN) return -1;
        Objects.checkFromIndexSize(off, len, b.length);
        if (aadLen > 0) Objects.checkFromIndexSize(aadOff, aadLen, aad.length);
        int ct = len - TAG_LEN;
        tag(key, n0, n1, n2, aad, aadOff, aadLen, b, off, ct);
        int[] t = ks;
        int diff = 0; // constant time: every word is compared whatever the first difference
        for (int i = 0; i < 4; i++) diff |= t[i] ^ (int) INT.get(b, off + ct + 4 * i);
        if (diff != 0) return -1;
        xor(key, 1, n0, n1, n2, b, off, ct);
        return ct;
    }

    /** The expanded-key check both in-place AEADs of this package share (they take the same {@link #key} words). */
    static void checkKey(int[] key) {
        if (key == null || key.length != 8) throw new IllegalArgumentException("expanded key must be 8 words (see ChaChaPolyInPlace.key)");
    }

    private static void checkNonce(byte[] nonce) {
        if (nonce == null || nonce.length != NONCE_LEN) throw new IllegalArgumentException("ChaCha20-Poly1305 nonce must be 12 bytes");
    }

    // --- ChaCha20 ------------------------------------------------------------------------------------------

    /** XORs the keystream from block {@code counter} on into {@code b[off..off+len)}. */
    private void xor(int[] key, int counter, int n0, int n1, int n2, byte[] b, int off, int len) {
        int[] s = ks;
        int p = off;
        int end = off + len;
        while (end - p >= 64) {
            block(key, counter++, n0, n1, n2, s);
            for (int i = 0; i < 16; i++) INT.set(b, p + 4 * i, (int) INT.get(b, p + 4 * i) ^ s[i]);
            p += 64;
        }
        if (p < end) {
            block(key, counter, n0, n1, n2, s);
            int i = 0;
            for (; p + 4 <= end; p += 4, i++) INT.set(b, p, (int) INT.get(b, p) ^ s[i]);
            for (int sh = 0; p < end; p++, sh += 8) b[p] ^= (byte) (s[i] >>> sh);
        }
    }

    /** The ChaCha20 block function (RFC 8439 §2.3) into {@code out[0..16)}. */
    private static void block(int[] k, int counter, int n0, int n1, int n2, int[] out) {
        int k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7];
        int x0 = C0, x1 = C1, x2 = C2, x3 = C3;
        int x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6, x11 = k7;
        int x12 = counter, x13 = n0, x14 = n1, x15 = n2;
        for (int r = 0; r < 10; r++) {
            // columns
            x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 16); x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 12);
            x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 8); x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 7);
            x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 16); x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 12);
            x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 8); x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 7);
            x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 16); x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 12);
            x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 8); x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 7);
            x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 16); x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 12);
            x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 8); x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 7);
            // diagonals
            x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 16); x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 12);
            x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 8); x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 7);
            x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 16); x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 12);
            x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 8); x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 7);
            x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 16); x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 12);
            x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 8); x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 7);
            x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 16); x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 12);
            x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 8); x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 7);
        }
        out[0] = x0 + C0;
        out[1] = x1 + C1;
        out[2] = x2 + C2;
        out[3] = x3 + C3;
        out[4] = x4 + k0;
        out[5] = x5 + k1;
        out[6] = x6 + k2;
        out[7] = x7 + k3;
        out[8] = x8 + k4;
        out[9] = x9 + k5;
        out[10] = x10 + k6;
        out[11] = x11 + k7;
        out[12] = x12 + counter;
        out[13] = x13 + n0;
        out[14] = x14 + n1;
        out[15] = x15 + n2;
    }

    // --- Poly1305 ------------------------------------------------------------------------------------------

    /**
     * The AEAD tag (RFC 8439 §2.8) over {@code aad} and the ciphertext {@code b[off..off+len)} into {@code ks[0..4)}:
     * the one-time key is block 0's first 32 bytes.
     */
    private void tag(int[] key, int n0, int n1, int n2, byte[] aad, int aadOff, int aadLen, byte[] b, int off, int len) {
        int[] s = ks;
        block(key, 0, n0, n1, n2, s);
        mac(s, aad, aadOff, aadLen, b, off, len, true);
    }

    /**
     * Poly1305 keyed by {@code s[0..8)} (r then s, as words) over the AEAD's input: {@code aad} and {@code m} each
     * zero-padded to 16 bytes, then their lengths when {@code lengths}; the tag goes to {@code s[0..4)}.
     */
    private void mac(int[] s, byte[] aad, int aadOff, int aadLen, byte[] b, int off, int len, boolean lengths) {
        // r, clamped (RFC 8439 §2.5), as five 26-bit limbs
        long t0 = s[0] & 0xffffffffL, t1 = s[1] & 0xffffffffL, t2 = s[2] & 0xffffffffL, t3 = s[3] & 0xffffffffL;
        long r0 = t0 & 0x3ffffff;
        long r1 = ((t0 >>> 26) | (t1 << 6)) & 0x3ffff03;
        long r2 = ((t1 >>> 20) | (t2 << 12)) & 0x3ffc0ff;
        long r3 = ((t2 >>> 14) | (t3 << 18)) & 0x3f03fff;
        long r4 = (t3 >>> 8) & 0x00fffff;
        long[] h = acc;
        h[0] = h[1] = h[2] = h[3] = h[4] = 0;
        if (aadLen > 0) blocks(h, r0, r1, r2, r3, r4, aad, aadOff, aadLen);
        blocks(h, r0, r1, r2, r3, r4, b, off, len);
        if (lengths) {
            byte[] lens = pad;
            LONG.set(lens, 0, (long) aadLen);
            LONG.set(lens, 8, (long) len);
            blocks(h, r0, r1, r2, r3, r4, lens, 0, 16);
        }
        finish(h, s[4], s[5], s[6], s[7], s);
    }

    /** Plain Poly1305 of a message whose length is a multiple of 16 (so that no padding is involved), for tests. */
    byte[] poly1305(byte[] key32, byte[] msg) {
        if (msg.length % 16 != 0) throw new IllegalArgumentException("whole blocks only");
        int[] s = ks;
        for (int i = 0; i < 8; i++) s[i] = (int) INT.get(key32, 4 * i);
        mac(s, null, 0, 0, msg, 0, msg.length, false);
        byte[] tag = new byte[16];
        for (int i = 0; i < 4; i++) INT.set(tag, 4 * i, s[i]);
        return tag;
    }

    private final long[] acc = new long[5];

    /**
     * Absorbs {@code m[off..off+len)} zero-padded to a multiple of 16 (all Poly1305 input in the AEAD is padded, so
     * every block gets the 2^128 bit).
     */
    private void blocks(long[] h, long r0, long r1, long r2, long r3, long r4, byte[] m, int off, int len) {
        long s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
        long h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4];
        int p = off;
        int end = off + len;
        byte[] src = m;
        while (p < end) {
            long lo, hi;
            if (end - p >= 16) {
                lo = (long) LONG.get(src, p);
                hi = (long) LONG.get(src, p + 8);
            } else { // the last, partial block, zero-padded
                byte[] t = pad;
                Arrays.fill(t, (byte) 0);
                System.arraycopy(src, p, t, 0, end - p);
                lo = (long) LONG.get(t, 0);
                hi = (long) LONG.get(t, 8);
            }
            p += 16;
            h0 += lo & M26;
            h1 += (lo >>> 26) & M26;
            h2 += ((lo >>> 52) | (hi << 12)) & M26;
            h3 += (hi >>> 14) & M26;
            h4 += (hi >>> 40) | (1L << 24);

            long d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
            long d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2;
            long d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3;
            long d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4;
            long d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;

            long c = d0 >>> 26;
            h0 = d0 & M26;
            d1 += c;
            c = d1 >>> 26;
            h1 = d1 & M26;
            d2 += c;
            c = d2 >>> 26;
            h2 = d2 & M26;
            d3 += c;
            c = d3 >>> 26;
            h3 = d3 & M26;
            d4 += c;
            c = d4 >>> 26;
            h4 = d4 & M26;
            h0 += c * 5;
            c = h0 >>> 26;
            h0 &= M26;
            h1 += c;
        }
        h[0] = h0;
        h[1] = h1;
        h[2] = h2;
        h[3] = h3;
        h[4] = h4;
    }

    /** h mod 2^130-5, plus s (the one-time key's second half), mod 2^128, into {@code out[0..4)}. */
    private static void finish(long[] h, int s0, int s1, int s2, int s3, int[] out) {
        long h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4];
        long c = h1 >>> 26;
        h1 &= M26;
        h2 += c;
        c = h2 >>> 26;
        h2 &= M26;
        h3 += c;
        c = h3 >>> 26;
        h3 &= M26;
        h4 += c;
        c = h4 >>> 26;
        h4 &= M26;
        h0 += c * 5;
        c = h0 >>> 26;
        h0 &= M26;
        h1 += c;

        // g = h + 5 - 2^130; if that does not go negative, h >= p and g is the reduced value
        long g0 = h0 + 5;
        c = g0 >>> 26;
        g0 &= M26;
        long g1 = h1 + c;
        c = g1 >>> 26;
        g1 &= M26;
        long g2 = h2 + c;
        c = g2 >>> 26;
        g2 &= M26;
        long g3 = h3 + c;
        c = g3 >>> 26;
        g3 &= M26;
        long g4 = h4 + c - (1L << 26);
        long keepH = g4 >> 63; // all ones if g went negative (h < p), without a branch
        h0 = (h0 & keepH) | (g0 & ~keepH);
        h1 = (h1 & keepH) | (g1 & ~keepH);
        h2 = (h2 & keepH) | (g2 & ~keepH);
        h3 = (h3 & keepH) | (g3 & ~keepH);
        h4 = (h4 & keepH) | (g4 & ~keepH & M26);

        long w0 = (h0 | (h1 << 26)) & 0xffffffffL;
        long w1 = ((h1 >>> 6) | (h2 << 20)) & 0xffffffffL;
        long w2 = ((h2 >>> 12) | (h3 << 14)) & 0xffffffffL;
        long w3 = ((h3 >>> 18) | (h4 << 8)) & 0xffffffffL;

        long f = w0 + (s0 & 0xffffffffL);
        out[0] = (int) f;
        f = w1 + (s1 & 0xffffffffL) + (f >>> 32);
        out[1] = (int) f;
        f = w2 + (s2 & 0xffffffffL) + (f >>> 32);
        out[2] = (int) f;
        f = w3 + (s3 & 0xffffffffL) + (f >>> 32);
        out[3] = (int) f;
    }
}
