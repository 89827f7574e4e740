package dev.lattice.wireguard.device;

import dev.lattice.crypto.ChaChaPolyInPlace;
import dev.lattice.crypto.IntrinsicChaChaPoly;
import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;

/**
 * ChaCha20-Poly1305 for transport data, in place on the packet buffer. Implementations by size, all with the same
 * bytes: up to {@link #SMALL_BESIDE_KERNELS} bytes (keepalives, TCP ACKs) {@link ChaChaPolyInPlace}, scalar Java that
 * allocates nothing and needs no set-up (the kernels make 1 KiB of keystream a call); above it {@link IntrinsicChaChaPoly}, the JDK's vectorised ChaCha20 and
 * Poly1305 kernels called without the JDK's {@code Cipher}, whose {@code init} per packet (~800 ns and 2.2 KB of
 * garbage: it builds a Poly1305 and copies and compares keys) cost more than the kernels' work on a full-size packet.
 * Where the JDK's internals cannot be reached (a JVM started without lattice.jar's opens), the JDK's cipher above
 * {@link #SMALL_BESIDE_CIPHER} bytes (lattice-bench's TransportAeadBench has all three; the limits are where the
 * faster one changes). Not thread-safe, so each thread keeps its own.
 */
final class TransportCipher {
    private static final ThreadLocal<TransportCipher> PER_THREAD = ThreadLocal.withInitial(TransportCipher::new);

    /** Plaintext (seal) lengths up to this (open: up to this plus the tag) go to {@link ChaChaPolyInPlace}. */
    static final int SMALL_BESIDE_KERNELS = 64;
    /** As {@link #SMALL_BESIDE_KERNELS} where the JDK's cipher takes the larger packets. */
    static final int SMALL_BESIDE_CIPHER = 256;

    private final int smallMax;
    /** For packets above {@link #smallMax}; null where the JDK's kernels cannot be reached, and then the JDK's cipher. */
    private final IntrinsicChaChaPoly large;
    private final Cipher enc;
    private final Cipher dec;
    private final ChaChaPolyInPlace small = new ChaChaPolyInPlace();
    private final byte[] nonce = new byte[12];

    private TransportCipher() {
        this(IntrinsicChaChaPoly.available());
    }

    /** {@code intrinsic} false: the JDK's cipher for the larger packets (tests of the fallback). */
    TransportCipher(boolean intrinsic) {
        if (intrinsic) {
            large = new IntrinsicChaChaPoly();
            smallMax = SMALL_BESIDE_KERNELS;
            enc = dec = null;
            return;
        }
        large = null;
        smallMax = SMALL_BESIDE_CIPHER;
        try {
            enc = Cipher.getInstance("ChaCha20-Poly1305");
            dec = Cipher.getInstance("ChaCha20-Poly1305");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 unavailable in this JDK", e);
        }
    }

    /** The largest plaintext sealed by {@link ChaChaPolyInPlace} here. */
    int smallMax() {
        return smallMax;
    }

    /** Which implementation seals and opens full-size packets here, for the daemon's start-up log. */
    static String largePackets() {
        return IntrinsicChaChaPoly.available() ? "the JDK's ChaCha20/Poly1305 kernels (no Cipher set-up per packet)"
                : "the JDK's cipher (" + IntrinsicChaChaPoly.unavailableReason() + ")";
    }

    static TransportCipher get() {
        return PER_THREAD.get();
    }

    /**
     * Runs the cipher on throwaway data until the JIT has compiled it (and its ChaCha20 and Poly1305
     * intrinsics are in use), so the first seconds of a transfer do not run the cipher interpreted: a fresh JVM
     * needs some thousands of calls for that. See {@link WarmUp}.
     */
    static void warmUp(int rounds) {
        TransportKey key = new TransportKey(new byte[32]);
        byte[] buf = new byte[2048];
        TransportCipher c = get();
        for (int i = 0; i < rounds; i++) {
            int len = (i & 3) == 0 ? 64 : 1424; // short (ACK) and full-size packets
            int ct = c.seal(key, i, buf, 16, len);
            if (c.open(key, i, buf, 16, ct) != len) throw new IllegalStateException("cipher warm-up: round trip failed");
        }
    }

    private IvParameterSpec nonce(long counter) {
        for (int i = 0; i < 8; i++) nonce[4 + i] = (byte) (counter >>> (8 * i));
        return new IvParameterSpec(nonce);
    }

    /** Encrypts {@code b[off..off+len)} in place and appends the 16-byte tag; returns len + 16. */
    int seal(TransportKey key, long counter, byte[] b, int off, int len) {
        if (len <= smallMax) return small.seal(key.words, counter, b, off, len);
        if (large != null) return large.seal(key.words, counter, b, off, len);
        try {
            enc.init(Cipher.ENCRYPT_MODE, key.jdk, nonce(counter));
            return enc.doFinal(b, off, len, b, off);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("transport encryption failed", e);
        }
    }

    /** Decrypts ciphertext+tag in place; returns the plaintext length, or -1 if authentication fails. */
    int open(TransportKey key, long counter, byte[] b, int off, int len) {
        if (len <= smallMax + ChaChaPolyInPlace.TAG_LEN) return small.open(key.words, counter, b, off, len);
        if (large != null) return large.open(key.words, counter, b, off, len);
        try {
            dec.init(Cipher.DECRYPT_MODE, key.jdk, nonce(counter));
            return dec.doFinal(b, off, len, b, off);
        } catch (GeneralSecurityException e) { // AEADBadTagException: forged or corrupted
            return -1;
        }
    }
}
