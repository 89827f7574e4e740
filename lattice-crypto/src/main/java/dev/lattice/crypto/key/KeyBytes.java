package dev.lattice.crypto.key;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;

/** Shared helpers for 32-byte key records: text forms, validation, constant-time comparison. */
final class KeyBytes {
    static final int LEN = 32;
    private static final HexFormat HEX = HexFormat.of();

    private KeyBytes() {}

    static byte[] check(byte[] raw, String what) {
        if (raw == null || raw.length != LEN) {
            throw new IllegalArgumentException(what + " must be " + LEN + " bytes");
        }
        return raw.clone();
    }

    static byte[] parsePrefixedHex(String text, String prefix, String what) {
        if (text == null || !text.startsWith(prefix)) {
            throw new IllegalArgumentException(what + " must start with \"" + prefix + "\"");
        }
        return parseHex(text.substring(prefix.length()), what);
    }

    static byte[] parseHex(String hex, String what) {
        if (hex.length() != LEN * 2) {
            throw new IllegalArgumentException(what + " must be " + LEN * 2 + " hex digits");
        }
        try {
            return HEX.parseHex(hex);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " is not valid hex");
        }
    }

    static byte[] parseBase64(String b64, String what) {
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(b64);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " is not valid base64");
        }
        if (raw.length != LEN) {
            throw new IllegalArgumentException(what + " must decode to " + LEN + " bytes");
        }
        return raw;
    }

    private static final byte[] HEX_DIGITS = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);

    /** Lower-case hex, as HexFormat.of() but with a plain table: map responses format thousands of keys each. */
    static String hex(byte[] raw) {
        byte[] out = new byte[raw.length * 2];
        for (int i = 0; i < raw.length; i++) {
            out[2 * i] = HEX_DIGITS[(raw[i] >> 4) & 0xf];
            out[2 * i + 1] = HEX_DIGITS[raw[i] & 0xf];
        }
        return new String(out, StandardCharsets.ISO_8859_1);
    }

    static String base64(byte[] raw) {
        return Base64.getEncoder().encodeToString(raw);
    }

    static boolean equal(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }

    static boolean isZero(byte[] raw) {
        int acc = 0;
        for (byte b : raw) acc |= b;
        return acc == 0;
    }

    /**
     * Hash code for secret keys: a keyed digest of the bytes, so a hashCode that ends up in a log or a
     * heap dump reveals nothing of the key.
     */
    static int secretHash(byte[] raw) {
        byte[] d = dev.lattice.crypto.Blake2s.mac(HASH_SALT, 4, raw);
        return hash(d);
    }

    private static final byte[] HASH_SALT = new byte[16];

    static {
        new java.security.SecureRandom().nextBytes(HASH_SALT);
    }

    static int hash(byte[] raw) {
        // Keys are uniformly random; the first bytes make a fine hash.
        return (raw[0] & 0xff) | (raw[1] & 0xff) << 8 | (raw[2] & 0xff) << 16 | (raw[3] & 0xff) << 24;
    }
}
