package dev.lattice.crypto;

import java.security.MessageDigest;

/** Comparisons whose running time does not depend on secret byte values (lengths are not secret). */
public final class ConstantTime {
    private ConstantTime() {}

    /** True iff both arrays have the same length and bytes; false if either is null. */
    public static boolean equal(byte[] a, byte[] b) {
        if (a == null || b == null) return false;
        // The JDK documents isEqual as constant-time for equal lengths.
        return MessageDigest.isEqual(a, b);
    }

    /** True iff every byte is zero (an empty array counts as zero). */
    public static boolean isZero(byte[] a) {
        int acc = 0;
        for (byte b : a) acc |= b;
        return acc == 0;
    }
}
