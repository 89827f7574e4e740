package dev.lattice.control.policy;

import java.util.Locale;

/**
 * How large a policy may be, wherever it comes from (the file, {@code policy set}, the REST API), and the one
 * message that says a policy is larger. Policies are small; the bound keeps a mistake or an attack from tying up
 * the server.
 */
public final class PolicySize {
    /** In UTF-8 bytes, as the file is. */
    public static final int MAX_BYTES = 8 << 20;
    /**
     * The largest request body that carries a policy of {@link #MAX_BYTES} however the client escapes it in JSON
     * (an escaped control character is six bytes for one), plus room for the rest of the request.
     */
    public static final int MAX_REQUEST_BYTES = 6 * MAX_BYTES + (64 << 10);

    private PolicySize() {}

    /** @throws PolicyException "policy is 9.1 MiB; the limit is 8 MiB" when {@code bytes} is over the limit */
    public static void check(long bytes) throws PolicyException {
        String m = problem(bytes);
        if (m != null) throw new PolicyException(m);
    }

    public static void check(CharSequence text) throws PolicyException {
        // A char is at most 3 bytes: most texts are decided without counting.
        if (text.length() * 3L > MAX_BYTES) check(utf8Length(text));
    }

    /** The message for a policy of {@code bytes}, or null when it is within the limit. */
    public static String problem(long bytes) {
        if (bytes <= MAX_BYTES) return null;
        String size = mib(bytes);
        // Just over the limit rounds to it ("8.0 MiB"): then the exact count says what is wrong.
        if (size.equals(mib(MAX_BYTES))) size = bytes + " bytes";
        return "policy is " + size + "; the limit is " + (MAX_BYTES >> 20) + " MiB";
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
    }

    static long utf8Length(CharSequence s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n++;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else n += 3;
        }
        return n;
    }
}
