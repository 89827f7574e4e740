package dev.lattice.wire.disco;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;

/** A Ping/Pong transaction id: 12 random bytes chosen by the pinger. */
public record TxId(byte[] bytes) {
    public static final int LEN = 12;
    private static final SecureRandom RANDOM = new SecureRandom();

    public TxId {
        if (bytes == null || bytes.length != LEN) throw new IllegalArgumentException("disco TxID must be 12 bytes");
        bytes = bytes.clone();
    }

    public static TxId random() {
        byte[] b = new byte[LEN];
        RANDOM.nextBytes(b);
        return new TxId(b);
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TxId t && Arrays.equals(bytes, t.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return HexFormat.of().formatHex(bytes);
    }
}
