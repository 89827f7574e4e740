package dev.lattice.control.config;

import java.math.BigDecimal;
import java.time.Duration;

/**
 * Durations in Go's {@code time.ParseDuration} syntax ({@code 30m}, {@code 1h30m}, {@code 1.5s}, {@code 0}) as
 * Headscale's config uses them. {@code node.expiry} additionally accepts Prometheus-style {@code d}, {@code w},
 * {@code y} units (Headscale parses that key with {@code model.ParseDuration}).
 */
public final class GoDuration {
    private GoDuration() {}

    /** Parses Go syntax; throws {@link IllegalArgumentException} naming the text when it is not a duration. */
    public static Duration parse(String text) {
        return parse(text, false);
    }

    /** As {@link #parse(String)}, also accepting days ({@code d}), weeks ({@code w}) and 365-day years ({@code y}). */
    public static Duration parseWithDays(String text) {
        return parse(text, true);
    }

    private static Duration parse(String text, boolean days) {
        if (text == null || text.isEmpty()) throw bad(text, "empty");
        String s = text;
        boolean negative = false;
        if (s.charAt(0) == '-' || s.charAt(0) == '+') {
            negative = s.charAt(0) == '-';
            s = s.substring(1);
        }
        if (s.equals("0")) return Duration.ZERO;
        if (s.isEmpty()) throw bad(text, "no number");
        BigDecimal nanos = BigDecimal.ZERO;
        int i = 0;
        while (i < s.length()) {
            int start = i;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) i++;
            String num = s.substring(start, i);
            if (num.isEmpty() || num.equals(".") || num.indexOf('.') != num.lastIndexOf('.')) throw bad(text, "bad number");
            int unitStart = i;
            while (i < s.length() && !Character.isDigit(s.charAt(i)) && s.charAt(i) != '.') i++;
            String unit = s.substring(unitStart, i);
            long scale = switch (unit) {
                case "ns" -> 1L;
                case "us", "µs", "μs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "h" -> 3_600_000_000_000L;
                case "d" -> days ? 86_400_000_000_000L : -1;
                case "w" -> days ? 7 * 86_400_000_000_000L : -1;
                case "y" -> days ? 365 * 86_400_000_000_000L : -1;
                case "" -> throw bad(text, "missing unit");
                default -> -1;
            };
            if (scale < 0) throw bad(text, "unknown unit \"" + unit + "\"");
            nanos = nanos.add(new BigDecimal(num).multiply(BigDecimal.valueOf(scale)));
            // Go rejects anything beyond ~292 years; so do we, before BigDecimal grows without bound.
            if (nanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) throw bad(text, "out of range");
        }
        long n = nanos.longValue();
        return Duration.ofNanos(negative ? -n : n);
    }

    /** Go's canonical form: {@code 1h30m0s}, {@code 500ms}, {@code 0s}. */
    public static String format(Duration d) {
        if (d.isZero()) return "0s";
        long n = d.toNanos();
        String sign = n < 0 ? "-" : "";
        n = Math.abs(n);
        if (n < 1_000_000_000L) {
            if (n % 1_000_000L == 0) return sign + n / 1_000_000L + "ms";
            if (n % 1_000L == 0) return sign + n / 1_000L + "µs";
            return sign + n + "ns";
        }
        long h = n / 3_600_000_000_000L;
        long m = n / 60_000_000_000L % 60;
        BigDecimal sec = BigDecimal.valueOf(n % 60_000_000_000L, 9).stripTrailingZeros();
        StringBuilder sb = new StringBuilder(sign);
        if (h > 0) sb.append(h).append('h');
        if (h > 0 || m > 0) sb.append(m).append('m');
        sb.append(sec.signum() == 0 ? "0" : sec.toPlainString()).append('s');
        return sb.toString();
    }

    private static IllegalArgumentException bad(String text, String why) {
        return new IllegalArgumentException("bad duration \"" + text + "\" (" + why + ")");
    }
}
