package dev.lattice.control.store;

import dev.lattice.crypto.ConstantTime;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The {@code <kind>-<12 char prefix>-<64 char secret>} key format (Headscale's {@code hskey-auth-...} with our own
 * words). Both parts are base64url, which may itself contain {@code -}, so parsing is by fixed lengths. The
 * prefix is a lookup id; only SHA-256 of the secret is stored (the secret has 384 random bits, so a plain hash is
 * enough) and compared in constant time.
 */
record SecretKeys(String kind) {
    static final SecretKeys AUTH = new SecretKeys("lattice-auth-");
    static final SecretKeys API = new SecretKeys("lattice-api-");

    static final int PREFIX_LEN = 12;
    static final int SECRET_LEN = 64;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    record Generated(String prefix, String secret, String hash, String fullKey) {
        @Override
        public String toString() {
            return "Generated[prefix=" + prefix + ", <redacted>]";
        }
    }

    record Parsed(String prefix, String secret) {
        @Override
        public String toString() {
            return "Parsed[prefix=" + prefix + ", <redacted>]";
        }
    }

    Generated generate() {
        String prefix = random(PREFIX_LEN * 3 / 4);
        String secret = random(SECRET_LEN * 3 / 4);
        return new Generated(prefix, secret, hash(secret), kind + prefix + "-" + secret);
    }

    /** Splits a full key, or returns null if it is not in this format (wrong kind, length or alphabet). */
    Parsed parse(String fullKey) {
        if (fullKey == null || fullKey.length() != kind.length() + PREFIX_LEN + 1 + SECRET_LEN || !fullKey.startsWith(kind)) {
            return null;
        }
        String rest = fullKey.substring(kind.length());
        if (rest.charAt(PREFIX_LEN) != '-') return null;
        String prefix = rest.substring(0, PREFIX_LEN);
        String secret = rest.substring(PREFIX_LEN + 1);
        if (!base64Url(prefix) || !base64Url(secret)) return null;
        return new Parsed(prefix, secret);
    }

    String display(String prefix) {
        return kind + prefix + "-***";
    }

    static boolean matches(String secret, String storedHash) {
        return ConstantTime.equal(hash(secret).getBytes(StandardCharsets.US_ASCII), storedHash.getBytes(StandardCharsets.US_ASCII));
    }

    static String hash(String secret) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static String random(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return B64.encodeToString(b);
    }

    private static boolean base64Url(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')) return false;
        }
        return true;
    }
}
