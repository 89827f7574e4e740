package dev.lattice.crypto.noise;

import dev.lattice.crypto.ChaChaPoly;

/**
 * How a CipherState turns its 64-bit counter into the 12-byte ChaCha20-Poly1305 nonce. The Noise spec and
 * WireGuard use little-endian; Tailscale's ts2021 control protocol uses big-endian.
 */
public enum NonceEncoding {
    LITTLE_ENDIAN,
    BIG_ENDIAN;

    /** 4 zero bytes followed by {@code counter} as a u64 in this byte order. */
    public byte[] nonce(long counter) {
        return this == LITTLE_ENDIAN ? ChaChaPoly.nonceLE(counter) : ChaChaPoly.nonceBE(counter);
    }
}
