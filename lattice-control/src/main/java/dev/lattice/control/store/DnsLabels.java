package dev.lattice.control.store;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * Hostnames to DNS labels (a node's given name), as Headscale 0.29 derives them: Tailscale's
 * {@code dnsname.SanitizeHostname}, {@code node} when nothing is left, {@code -1}, {@code -2}... on collision.
 */
public final class DnsLabels {
    public static final int MAX_LABEL = 63;
    /** Headscale's label for a node whose hostname sanitises to nothing. */
    public static final String FALLBACK = "node";
    /** Go's {@code TrimCommonSuffixes}: trimmed one after the other, in this order. */
    private static final String[] COMMON_SUFFIXES = {".local", ".localdomain", ".lan"};

    private DnsLabels() {}

    /**
     * The label for {@code hostname}: {@code .local}, {@code .localdomain} and {@code .lan} trimmed, lower-cased,
     * inner separators (space, dot, @, _) turned into hyphens, other characters outside {@code [a-z0-9-]} (so every
     * non-ASCII one) dropped, cut to 63 bytes starting and ending alphanumeric. Empty results become
     * {@value #FALLBACK}. {@code Joe's Mac mini} → {@code joes-mac-mini}, {@code mail.server} → {@code mail-server}.
     */
    public static String sanitize(String hostname) {
        String label = sanitizeLabel(trimCommonSuffixes(hostname == null ? "" : hostname));
        return label.isEmpty() ? FALLBACK : label;
    }

    /** Go's {@code dnsname.TrimCommonSuffixes}. */
    static String trimCommonSuffixes(String hostname) {
        String h = hostname;
        for (String suffix : COMMON_SUFFIXES) {
            if (h.endsWith(suffix)) h = h.substring(0, h.length() - suffix.length());
        }
        return h;
    }

    /**
     * Go's {@code dnsname.SanitizeLabel}, byte for byte: Go walks the UTF-8 bytes, so the 63-character cut counts
     * bytes and a non-ASCII character is dropped whole. May return the empty string.
     */
    static String sanitizeLabel(String label) {
        byte[] b = label.getBytes(StandardCharsets.UTF_8);
        int start = 0;
        int end = Math.min(b.length, MAX_LABEL);
        while (start < end && !alnum(b[start])) start++;
        while (end > start && !alnum(b[end - 1])) end--;
        StringBuilder sb = new StringBuilder(end - start);
        for (int i = start; i < end; i++) {
            byte c = b[i];
            boolean boundary = i == start || i == end - 1;
            if (!boundary && (c == ' ' || c == '.' || c == '@' || c == '_')) {
                sb.append('-');
            } else if (alnum(c) || c == '-') {
                sb.append((char) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c));
            }
        }
        return sb.toString();
    }

    /** True if {@code s} is already a valid label (what {@link #sanitize} returns unchanged). */
    public static boolean isValid(String s) {
        return s != null && !s.isEmpty() && s.length() <= MAX_LABEL
                && s.equals(s.toLowerCase(Locale.ROOT))
                && s.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?");
    }

    /**
     * {@code base} if free, else {@code base-1}, {@code base-2}, ..., the first that {@code taken} does not hold
     * (Headscale's {@code resolveGivenName}); suffixed labels are shortened to stay within 63 characters.
     */
    public static String unique(String base, Predicate<String> taken) {
        String candidate = base;
        for (int i = 1; taken.test(candidate); i++) candidate = withSuffix(base, i);
        return candidate;
    }

    /**
     * True if {@code given} is what the node's {@code hostname} would give it (its label, or the label with a
     * collision suffix), so it follows hostname changes; false means an admin renamed the node and the name stays.
     * Headscale tracks no flag for this but tests the name the same way ({@code isAutoDerivedGivenName}: the label,
     * or the label, {@code -} and an integer). Unlike Headscale, a node that got the {@value #FALLBACK} fallback
     * (a hostname with no usable character) counts as auto-named, so it follows once it reports a usable hostname.
     */
    public static boolean isAutoDerived(String given, String hostname) {
        if (given == null) return true;
        String base = sanitize(hostname);
        if (given.equals(base)) return true;
        if (given.startsWith(base + "-") && isGoInt(given.substring(base.length() + 1))) return true;
        // A suffixed label that had to be shortened to fit 63 characters (withSuffix).
        int dash = given.lastIndexOf('-');
        if (dash < 0 || given.length() - dash - 1 > 9 || !isGoInt(given.substring(dash + 1))) return false;
        int n = Integer.parseInt(given.substring(dash + 1));
        return n > 0 && withSuffix(base, n).equals(given);
    }

    /** What Go's {@code strconv.Atoi} accepts: an optional sign and decimal digits, within 64 bits. */
    private static boolean isGoInt(String s) {
        if (!s.matches("[+-]?[0-9]+")) return false;
        try {
            Long.parseLong(s.startsWith("+") ? s.substring(1) : s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** {@code base-n}, shortening {@code base} so the result still fits in a label. */
    static String withSuffix(String base, int n) {
        String suffix = "-" + n;
        String b = base.length() + suffix.length() > MAX_LABEL ? base.substring(0, MAX_LABEL - suffix.length()) : base;
        while (b.endsWith("-")) b = b.substring(0, b.length() - 1);
        return b + suffix;
    }

    private static boolean alnum(byte c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9';
    }
}
