package dev.lattice.control.cli;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Headscale's {@code --expiration} syntax (Prometheus {@code model.ParseDuration}): units in order
 * {@code y w d h m s ms}, each at most once, e.g. {@code 90d}, {@code 1h30m}, {@code 0}. A year is 365 days.
 */
final class PromDuration {
    private static final Pattern P = Pattern.compile(
            "(?:(\\d+)y)?(?:(\\d+)w)?(?:(\\d+)d)?(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?(?:(\\d+)ms)?");
    private static final long[] MILLIS = {365L * 86_400_000, 7L * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1};
    /** Go's time.Duration limit (about 292 years). */
    private static final long MAX_MILLIS = Long.MAX_VALUE / 1_000_000;

    private PromDuration() {}

    static Duration parse(String text) {
        if (text == null || text.isEmpty()) throw new IllegalArgumentException("empty duration string");
        if (text.equals("0")) return Duration.ZERO;
        Matcher m = P.matcher(text);
        if (!m.matches()) throw new IllegalArgumentException("not a valid duration string: \"" + text + "\" (e.g. 30m, 24h, 90d)");
        long total = 0;
        boolean any = false;
        for (int i = 0; i < MILLIS.length; i++) {
            String g = m.group(i + 1);
            if (g == null) continue;
            any = true;
            long v;
            try {
                v = Long.parseLong(g);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("duration out of range: \"" + text + "\"");
            }
            if (v > MAX_MILLIS / MILLIS[i] || total > MAX_MILLIS - v * MILLIS[i]) {
                throw new IllegalArgumentException("duration out of range: \"" + text + "\"");
            }
            total += v * MILLIS[i];
        }
        if (!any) throw new IllegalArgumentException("not a valid duration string: \"" + text + "\"");
        return Duration.ofMillis(total);
    }
}
