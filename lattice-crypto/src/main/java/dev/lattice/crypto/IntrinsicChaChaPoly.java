package dev.lattice.crypto;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.security.spec.AlgorithmParameterSpec;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * ChaCha20-Poly1305 (RFC 8439), in place or from one buffer into another, with a counter nonce and no associated
 * data (WireGuard's and Noise's transport messages, ts2021's records), on the JDK's own vectorised ChaCha20 and Poly1305 kernels but without its {@code Cipher}.
 *
 * <p>Why: the JDK's {@code ChaCha20-Poly1305} cipher must be initialised per message, and that set-up (copying the
 * key, comparing key and nonce with the last ones, a 1 KiB keystream batch for the 32-byte Poly1305 key, a new
 * Poly1305 with its limb objects, ~2.2 KB of garbage) costs more than sealing a full-size packet with its intrinsics.
 * Here the two kernels are called directly: {@code ChaCha20Cipher.implChaCha20Block} (a static function of a state
 * and a 1 KiB buffer; C2 replaces it with AVX2/AVX-512 code that makes up to 16 blocks a call, the interpreter makes
 * one) and {@code Poly1305.processMultipleBlocks} (C2 replaces it with AVX-512 IFMA or AVX2 code). One Poly1305
 * object is kept per instance; its accumulator and {@code r} are rewritten in place per message, in the 26-bit-limb
 * form its own {@code encode} makes, so its pure-Java fallback (used until C2 compiles the caller) reads the same
 * state the intrinsic does. The final reduction and the addition of {@code s} are done here.
 *
 * <p>These are JDK internals: they need {@code --add-opens} of {@code java.base/com.sun.crypto.provider},
 * {@code sun.security.util.math} and {@code sun.security.util.math.intpoly} (lattice.jar's manifest has them). If
 * they cannot be reached, or a known-answer test at class initialisation does not give RFC 8439's bytes (another
 * JDK), {@link #available()} is false and callers keep the JDK's cipher. Our runtime is the JDK we build with.
 *
 * <p>Not thread-safe (keystream and Poly1305 state are per instance): one per thread. Tags are compared in constant
 * time and {@link #open} decrypts only after the tag has been verified, so a forged message leaves the buffer as it
 * was. The intrinsics do not check bounds; every call checks them first.
 */
public final class IntrinsicChaChaPoly {
    public static final int TAG_LEN = 16;

    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long M26 = 0x3ffffff;
    /** What {@code implChaCha20Block} requires: a 16-word state and a 1,024-byte buffer (the intrinsic's largest batch). */
    private static final int KS_LEN = 1024;

    private static final MethodHandle BLOCK;       // (int[] state, byte[1024] out) int bytesMade
    private static final MethodHandle POLY_NEW;    // () Object
    private static final MethodHandle POLY_INIT;   // (Object poly, Key, AlgorithmParameterSpec) void
    private static final MethodHandle POLY_BLOCKS; // (Object poly, byte[], int off, int len, long[] a, long[] r) void
    private static final MethodHandle GET_A, GET_R; // (Object poly) Object element
    private static final MethodHandle LIMBS;       // (Object element) long[]
    private static final MethodHandle SET_VALUE;   // (Object mutableElement, Object element) void
    private static final Object ZERO;
    private static final String UNAVAILABLE;

    static {
        MethodHandle block = null, polyNew = null, polyInit = null, polyBlocks = null, getA = null, getR = null,
                limbs = null, setValue = null;
        Object zero = null;
        String why = null;
        try {
            MethodHandles.Lookup self = MethodHandles.lookup();
            Class<?> chacha = Class.forName("com.sun.crypto.provider.ChaCha20Cipher");
            Class<?> poly = Class.forName("com.sun.crypto.provider.Poly1305");
            Class<?> element = Class.forName("sun.security.util.math.IntegerModuloP");
            Class<?> mutable = Class.forName("sun.security.util.math.MutableIntegerModuloP");
            Class<?> immutable = Class.forName("sun.security.util.math.ImmutableIntegerModuloP");
            Class<?> field = Class.forName("sun.security.util.math.IntegerFieldModuloP");
            Class<?> p1305 = Class.forName("sun.security.util.math.intpoly.IntegerPolynomial1305");
            MethodHandles.Lookup c = MethodHandles.privateLookupIn(chacha, self);
            MethodHandles.Lookup p = MethodHandles.privateLookupIn(poly, self);
            MethodHandles.Lookup m = MethodHandles.privateLookupIn(element, self);
            MethodHandles.Lookup f = MethodHandles.privateLookupIn(p1305, self);
            block = c.findStatic(chacha, "implChaCha20Block", MethodType.methodType(int.class, int[].class, byte[].class));
            polyNew = p.findConstructor(poly, MethodType.methodType(void.class)).asType(MethodType.methodType(Object.class));
            polyInit = p.findVirtual(poly, "engineInit", MethodType.methodType(void.class, Key.class, AlgorithmParameterSpec.class))
                    .asType(MethodType.methodType(void.class, Object.class, Key.class, AlgorithmParameterSpec.class));
            polyBlocks = p.findVirtual(poly, "processMultipleBlocks",
                            MethodType.methodType(void.class, byte[].class, int.class, int.class, long[].class, long[].class))
                    .asType(MethodType.methodType(void.class, Object.class, byte[].class, int.class, int.class, long[].class, long[].class));
            getA = p.findGetter(poly, "a", mutable).asType(MethodType.methodType(Object.class, Object.class));
            getR = p.findGetter(poly, "r", element).asType(MethodType.methodType(Object.class, Object.class));
            limbs = m.findVirtual(element, "getLimbs", MethodType.methodType(long[].class))
                    .asType(MethodType.methodType(long[].class, Object.class));
            setValue = m.findVirtual(mutable, "setValue", MethodType.methodType(mutable, element))
                    .asType(MethodType.methodType(void.class, Object.class, Object.class));
            Object one = f.findStaticGetter(p1305, "ONE", p1305).invoke();
            zero = m.findVirtual(field, "get0", MethodType.methodType(immutable)).invoke(one);
        } catch (Throwable e) { // ReflectiveOperationException, or IllegalAccessException/InaccessibleObjectException without the opens
            why = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        BLOCK = block;
        POLY_NEW = polyNew;
        POLY_INIT = polyInit;
        POLY_BLOCKS = polyBlocks;
        GET_A = getA;
        GET_R = getR;
        LIMBS = limbs;
        SET_VALUE = setValue;
        ZERO = zero;
        if (why == null) why = knownAnswerFailure();
        UNAVAILABLE = why;
    }

    /** True if the JDK's kernels could be reached and give RFC 8439's bytes; otherwise use the JDK's cipher. */
    public static boolean available() {
        return UNAVAILABLE == null;
    }

    /** Why {@link #available()} is false (one line), or null. */
    public static String unavailableReason() {
        return UNAVAILABLE;
    }

    private final int[] state = new int[16];
    private final byte[] ks = new byte[KS_LEN];
    /** The last partial block of the ciphertext, zero-padded, then the lengths block. */
    private final byte[] tail = new byte[32];
    private final byte[] tag = new byte[TAG_LEN];
    private final Object poly, a, r;
    private final long[] aLimbs, rLimbs;
    /** The one-time key's s half, added to the tag. */
    private long sLo, sHi;

    /** @throws IllegalStateException if not {@link #available()} */
    public IntrinsicChaChaPoly() {
        // UNAVAILABLE is still null while the class initialiser runs the known-answer test with an instance
        if (UNAVAILABLE != null || BLOCK == null) throw new IllegalStateException("JDK ChaCha20/Poly1305 kernels unavailable: " + UNAVAILABLE);
        try {
            poly = POLY_NEW.invokeExact();
            byte[] k = new byte[32];
            Arrays.fill(k, (byte) 1); // any key it accepts: r and s are replaced per message
            POLY_INIT.invokeExact(poly, (Key) new SecretKeySpec(k, "Poly1305"), (AlgorithmParameterSpec) null);
            a = GET_A.invokeExact(poly);
            r = GET_R.invokeExact(poly);
            aLimbs = (long[]) LIMBS.invokeExact(a);
            rLimbs = (long[]) LIMBS.invokeExact(r);
        } catch (Throwable e) {
            throw new IllegalStateException("JDK Poly1305 could not be set up", e);
        }
        if (aLimbs.length != 5 || rLimbs.length != 5) throw new IllegalStateException("JDK Poly1305 limbs are not 5");
        state[0] = 0x61707865;
        state[1] = 0x3320646e;
        state[2] = 0x79622d32;
        state[3] = 0x6b206574;
    }

    /**
     * Seals {@code b[off..off+len)} in place under the expanded key ({@link ChaChaPolyInPlace#key}) with the nonce
     * 32 zero bits then {@code counter} little-endian, no associated data, and appends the tag: returns len + 16.
     */
    public int seal(int[] key, long counter, byte[] b, int off, int len) {
        return sealInto(key, counter, b, off, len, b, off);
    }

    /**
     * Opens ciphertext and tag at {@code b[off..off+len)} in place; returns the plaintext length, or -1 if the tag
     * is wrong (then {@code b} is unchanged).
     */
    public int open(int[] key, long counter, byte[] b, int off, int len) {
        return openInto(key, counter, b, off, len, b, off);
    }

    /** As {@link #seal}, from {@code in[off..off+len)} into {@code out} at {@code outOff} (ciphertext, then tag). */
    public int sealInto(int[] key, long counter, byte[] in, int off, int len, byte[] out, int outOff) {
        ChaChaPolyInPlace.checkKey(key);
        Objects.checkFromIndexSize(off, len, in.length);
        Objects.checkFromIndexSize(outOff, len + TAG_LEN, out.length);
        if (in == out && off != outOff && Math.abs(off - outOff) < len) { // overlapping: move it, then seal in place
            System.arraycopy(in, off, out, outOff, len);
            in = out;
            off = outOff;
        }
        int made = start(key, counter);
        xor(in, off, out, outOff, len, made);
        mac(out, outOff, len);
        System.arraycopy(tag, 0, out, outOff + len, TAG_LEN);
        return len + TAG_LEN;
    }

    /**
     * As {@link #open}, from ciphertext and tag at {@code in[off..off+len)} into {@code out} at {@code outOff}; returns
     * the plaintext length, or -1 if the tag is wrong, in which case nothing has been written to {@code out}.
     */
    public int openInto(int[] key, long counter, byte[] in, int off, int len, byte[] out, int outOff) {
        ChaChaPolyInPlace.checkKey(key);
        if (len < TAG_LEN) return -1;
        Objects.checkFromIndexSize(off, len, in.length);
        int ct = len - TAG_LEN;
        Objects.checkFromIndexSize(outOff, ct, out.length);
        int made = start(key, counter);
        mac(in, off, ct);
        int diff = 0; // constant time: every byte is compared whatever the first difference
        for (int i = 0; i < TAG_LEN; i++) diff |= tag[i] ^ in[off + ct + i];
        if (diff != 0) return -1;
        if (in == out && off != outOff && Math.abs(off - outOff) < ct) { // overlapping: move it, then open in place
            System.arraycopy(in, off, out, outOff, ct);
            in = out;
            off = outOff;
        }
        xor(in, off, out, outOff, ct, made);
        return ct;
    }

    /**
     * Loads key and nonce, makes the keystream from block 0 on, and takes the one-time Poly1305 key from block 0
     * (r clamped, RFC 8439 §2.5) into the Poly1305 object; returns how many keystream bytes {@link #ks} holds.
     */
    private int start(int[] key, long counter) {
        int[] st = state;
        System.arraycopy(key, 0, st, 4, 8);
        st[13] = 0;
        st[14] = (int) counter;
        st[15] = (int) (counter >>> 32);
        int made = block(0);
        encode((long) LONG.get(ks, 0) & 0x0ffffffc0fffffffL, (long) LONG.get(ks, 8) & 0x0ffffffc0ffffffcL, rLimbs);
        sLo = (long) LONG.get(ks, 16);
        sHi = (long) LONG.get(ks, 24);
        return made;
    }

    /** As IntegerPolynomial1305.encode: a 128-bit little-endian number as five 26-bit limbs. */
    private static void encode(long lo, long hi, long[] l) {
        l[0] = lo & M26;
        l[1] = (lo >>> 26) & M26;
        l[2] = ((lo >>> 52) | (hi << 12)) & M26;
        l[3] = (hi >>> 14) & M26;
        l[4] = hi >>> 40;
    }

    private int block(int counter) {
        state[12] = counter;
        try {
            return (int) BLOCK.invokeExact(state, ks);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * {@code out[outOff..+len)} = {@code in[off..+len)} XOR the keystream from block 1 on; {@link #ks} holds
     * {@code made} bytes from block 0. In place when the two ranges are the same.
     */
    private void xor(byte[] in, int off, byte[] out, int outOff, int len, int made) {
        int p = 0, k = 64, next = made >>> 6;
        while (p < len) {
            if (k == made) {
                made = block(next);
                next += made >>> 6;
                k = 0;
            }
            int n = Math.min(len - p, made - k);
            xorBytes(in, off + p, out, outOff + p, ks, k, n);
            p += n;
            k += n;
        }
    }

    private static void xorBytes(byte[] in, int inOff, byte[] out, int outOff, byte[] k, int kOff, int n) {
        int i = 0;
        for (; i + 32 <= n; i += 32) {
            long a0 = (long) LONG.get(in, inOff + i), a1 = (long) LONG.get(in, inOff + i + 8);
            long a2 = (long) LONG.get(in, inOff + i + 16), a3 = (long) LONG.get(in, inOff + i + 24);
            long k0 = (long) LONG.get(k, kOff + i), k1 = (long) LONG.get(k, kOff + i + 8);
            long k2 = (long) LONG.get(k, kOff + i + 16), k3 = (long) LONG.get(k, kOff + i + 24);
            LONG.set(out, outOff + i, a0 ^ k0);
            LONG.set(out, outOff + i + 8, a1 ^ k1);
            LONG.set(out, outOff + i + 16, a2 ^ k2);
            LONG.set(out, outOff + i + 24, a3 ^ k3);
        }
        for (; i + 8 <= n; i += 8) LONG.set(out, outOff + i, (long) LONG.get(in, inOff + i) ^ (long) LONG.get(k, kOff + i));
        for (; i < n; i++) out[outOff + i] = (byte) (in[inOff + i] ^ k[kOff + i]);
    }

    /** The tag of ciphertext {@code b[off..off+len)} with no associated data into {@link #tag}. */
    private void mac(byte[] b, int off, int len) {
        int full = len & ~15;
        int rem = len - full;
        byte[] t = tail;
        Arrays.fill(t, 0, 16, (byte) 0);
        System.arraycopy(b, off + full, t, 0, rem);
        LONG.set(t, 16, 0L); // associated data: none
        LONG.set(t, 24, (long) len);
        try {
            SET_VALUE.invokeExact(a, ZERO);
            if (full > 0) POLY_BLOCKS.invokeExact(poly, b, off, full, aLimbs, rLimbs);
            if (rem > 0) POLY_BLOCKS.invokeExact(poly, t, 0, 32, aLimbs, rLimbs); // the padded block, then the lengths
            else POLY_BLOCKS.invokeExact(poly, t, 16, 16, aLimbs, rLimbs);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
        finish();
    }

    /**
     * The tag from the accumulator's limbs: reduced fully mod p = 2^130 - 5, plus s, mod 2^128 (RFC 8439 §2.5.1), into
     * {@link #tag}, in constant time. Done here rather than by the JDK element's {@code addModPowerTwo}, which
     * allocates four arrays per message. The limbs may be partly reduced and, from the JDK's Java fallback, negative:
     * three carry chains with arithmetic shifts (floor division), each folding what carries out of the top back in as
     * 5 × carry (2^130 ≡ 5 mod p), leave every limb in [0, 2^26) but h0 in [0, 2^26 + 5); then poly1305-donna's final
     * step (h, or h - p when h ≥ p), and a packing that adds the limbs rather than ORing them, so it is exact even
     * when a carry leaves a limb at exactly 2^26.
     */
    private void finish() {
        finish(aLimbs, sLo, sHi, tag);
    }

    /** {@link #finish()} on given limbs and s, into {@code tag[0..16)}; package-private for its test. */
    static void finish(long[] l, long sLo, long sHi, byte[] tag) {
        long h0 = l[0], h1 = l[1], h2 = l[2], h3 = l[3], h4 = l[4], c;
        for (int round = 0; round < 3; round++) {
            c = h0 >> 26; h0 &= M26; h1 += c;
            c = h1 >> 26; h1 &= M26; h2 += c;
            c = h2 >> 26; h2 &= M26; h3 += c;
            c = h3 >> 26; h3 &= M26; h4 += c;
            c = h4 >> 26; h4 &= M26; h0 += c * 5;
        }
        c = h0 >> 26; h0 &= M26; h1 += c;
        // g = h + 5 - 2^130; g4 >= 0 exactly when h >= p
        long g0 = h0 + 5; c = g0 >> 26; g0 &= M26;
        long g1 = h1 + c; c = g1 >> 26; g1 &= M26;
        long g2 = h2 + c; c = g2 >> 26; g2 &= M26;
        long g3 = h3 + c; c = g3 >> 26; g3 &= M26;
        long g4 = h4 + c - (1L << 26);
        long useG = ~(g4 >> 63);
        h0 = (h0 & ~useG) | (g0 & useG);
        h1 = (h1 & ~useG) | (g1 & useG);
        h2 = (h2 & ~useG) | (g2 & useG);
        h3 = (h3 & ~useG) | (g3 & useG);
        h4 = (h4 & ~useG) | (g4 & useG);
        // h mod 2^128 as two words, then + s mod 2^128
        long t = h0 + (h1 << 26);
        long add = h2 << 52;
        long lo = t + add;
        long hi = (h2 >>> 12) + (h3 << 14) + (h4 << 40) + carry(t, add, lo);
        long tagLo = lo + sLo;
        LONG.set(tag, 0, tagLo);
        LONG.set(tag, 8, hi + sHi + carry(lo, sLo, tagLo));
    }

    /** The carry out of the unsigned 64-bit sum {@code sum = a + b}, without a branch. */
    private static long carry(long a, long b, long sum) {
        return ((a & b) | ((a | b) & ~sum)) >>> 63;
    }

    /**
     * RFC 8439 §2.8.2's message (114 bytes: full blocks and a partial one) sealed and opened here and by the JDK's
     * cipher under the same key and nonce; null if the bytes are equal, else why not.
     */
    private static String knownAnswerFailure() {
        try {
            HexFormat hex = HexFormat.of();
            byte[] key = hex.parseHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
            byte[] msg = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
                    .getBytes(StandardCharsets.US_ASCII);
            byte[] nonce = new byte[12];
            LONG.set(nonce, 4, 0x4746454443424140L);
            Cipher jdk = Cipher.getInstance("ChaCha20-Poly1305");
            jdk.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce));
            byte[] want = jdk.doFinal(msg);
            byte[] buf = Arrays.copyOf(msg, msg.length + TAG_LEN);
            IntrinsicChaChaPoly c = new IntrinsicChaChaPoly();
            c.seal(ChaChaPolyInPlace.key(key), 0x4746454443424140L, buf, 0, msg.length);
            if (!Arrays.equals(buf, want)) return "known-answer test failed: the JDK's kernels do not behave as expected";
            if (c.open(ChaChaPolyInPlace.key(key), 0x4746454443424140L, buf, 0, buf.length) != msg.length
                    || !Arrays.equals(Arrays.copyOf(buf, msg.length), msg)) return "known-answer test failed on open";
            return null;
        } catch (Throwable e) {
            return "known-answer test failed: " + e;
        }
    }
}
