package dev.lattice.control.store;

import java.util.Locale;

/** Hostnames to DNS labels, as Tailscale's {@code dnsname.SanitizeHostname} does it. */
public final class DnsLabels {
    public static final int MAX_LABEL = 63;
    /** Headscale's label for a node whose hostname sanitises to nothing. */
    public static final String FALLBACK = "node";

    private DnsLabels() {}

    /**
     * Drops {@code .local}/{@code .localdomain}/{@code .lan}, lower-cases, turns inner separators (space, dot, @, _)
     * into hyphens, drops other characters outside {@code [a-z0-9-]}, trims to 63 characters starting and ending
     * alphanumeric. Empty results become {@value #FALLBACK}.
     */
    public static String sanitize(String hostname) {
        String h = hostname == null ? "" : hostname;
        for (String suffix : new String[] {".local", ".localdomain", ".lan"}) {
            if (h.endsWith(suffix)) {
                h = h.substring(0, h.length() - suffix.length());
                break;
            }
        }
        int start = 0;
        int end = Math.min(h.length(), MAX_LABEL);
        while (start < end && !alnum(h.charAt(start))) start++;
        while (end > start && !alnum(h.charAt(end - 1))) end--;
        StringBuilder sb = new StringBuilder(end - start);
        for (int i = start; i < end; i++) {
            char c = h.charAt(i);
            boolean boundary = i == start || i == end - 1;
            if (!boundary && (c == ' ' || c == '.' || c == '@' || c == '_')) {
                sb.append('-');
            } else if (alnum(c) || c == '-') {
                sb.append(Character.toLowerCase(c));
            }
        }
        return sb.isEmpty() ? FALLBACK : sb.toString();
    }

    /** True if {@code s} is already a valid label (what {@link #sanitize} returns unchanged). */
    public static boolean isValid(String s) {
        return s != null && !s.isEmpty() && s.length() <= MAX_LABEL
                && s.equals(s.toLowerCase(Locale.ROOT))
                && s.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?");
    }

    /** {@code base-n}, shortening {@code base} so the result still fits in a label. */
    static String withSuffix(String base, int n) {
        String suffix = "-" + n;
        String b = base.length() + suffix.length() > MAX_LABEL ? base.substring(0, MAX_LABEL - suffix.length()) : base;
        while (b.endsWith("-")) b = b.substring(0, b.length() - 1);
        return b + suffix;
    }

    private static boolean alnum(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9';
    }
}
