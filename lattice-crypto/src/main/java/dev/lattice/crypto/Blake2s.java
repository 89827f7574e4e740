package dev.lattice.crypto;

import java.util.Objects;
import org.bouncycastle.crypto.digests.Blake2sDigest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

/** BLAKE2s (RFC 7693) in the three shapes WireGuard and Noise use. Each call is independent: thread-safe. */
public final class Blake2s {
    public static final int HASH_LEN = 32;
    /** BLAKE2s's block size, which is also HMAC's. */
    public static final int BLOCK_LEN = 64;

    private Blake2s() {}

    /** BLAKE2s-256 over the concatenation of {@code parts}. */
    public static byte[] hash(byte[]... parts) {
        Blake2sDigest d = new Blake2sDigest(HASH_LEN * 8);
        return finish(d, parts, HASH_LEN);
    }

    /**
     * Keyed BLAKE2s with an {@code outLen}-byte digest (1..32); key 0..32 bytes. This is WireGuard's
     * {@code MAC(key, input)} with outLen 16 (the digest length is a parameter of BLAKE2, not a truncation).
     */
    public static byte[] mac(byte[] key, int outLen, byte[]... parts) {
        Objects.requireNonNull(key, "key");
        if (key.length > HASH_LEN) throw new IllegalArgumentException("BLAKE2s key must be at most 32 bytes");
        if (outLen < 1 || outLen > HASH_LEN) throw new IllegalArgumentException("BLAKE2s output length must be 1..32");
        Blake2sDigest d = new Blake2sDigest(key.length == 0 ? null : key, outLen, null, null);
        return finish(d, parts, outLen);
    }

    /** HMAC-BLAKE2s-256 (RFC 2104 with a 64-byte block), as Noise's HMAC-HASH and WireGuard's HMAC. */
    public static byte[] hmac(byte[] key, byte[]... parts) {
        Objects.requireNonNull(key, "key");
        HMac m = new HMac(new Blake2sDigest(HASH_LEN * 8));
        m.init(new KeyParameter(key));
        for (byte[] p : parts) m.update(Objects.requireNonNull(p, "part"), 0, p.length);
        byte[] out = new byte[HASH_LEN];
        m.doFinal(out, 0);
        return out;
    }

    private static byte[] finish(Blake2sDigest d, byte[][] parts, int outLen) {
        for (byte[] p : parts) d.update(Objects.requireNonNull(p, "part"), 0, p.length);
        byte[] out = new byte[outLen];
        d.doFinal(out, 0);
        return out;
    }
}
