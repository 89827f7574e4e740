package dev.lattice.agent.cli;

import java.math.BigDecimal;
import java.time.Duration;

/** Go's {@code time.Duration} text: {@link #format} is {@code String()}, {@link #parse} is {@code ParseDuration}. */
final class GoDuration {
    private GoDuration() {}

    static String format(Duration d) {
        long n = d.toNanos();
        if (n == 0) return "0s";
        StringBuilder sb = new StringBuilder();
        if (n < 0) {
            sb.append('-');
            n = -n;
        }
        if (n < 1_000) return sb.append(n).append("ns").toString();
        if (n < 1_000_000) return sb.append(fraction(n, 1_000)).append("µs").toString();
        if (n < 1_000_000_000) return sb.append(fraction(n, 1_000_000)).append("ms").toString();
        long h = n / 3_600_000_000_000L;
        long m = n / 60_000_000_000L % 60;
        long sNanos = n % 60_000_000_000L;
        if (h > 0) sb.append(h).append('h');
        if (h > 0 || m > 0) sb.append(m).append('m');
        return sb.append(fraction(sNanos, 1_000_000_000)).append('s').toString();
    }

    /** v/unit with the fraction's trailing zeros (and a bare point) dropped. */
    private static String fraction(long v, long unit) {
        String s = BigDecimal.valueOf(v).divide(BigDecimal.valueOf(unit)).stripTrailingZeros().toPlainString();
        return s;
    }

    /** Rounds to a multiple of {@code m}, halfway away from zero, like Go's {@code Duration.Round}. */
    static Duration round(Duration d, Duration m) {
        long n = d.toNanos();
        long u = m.toNanos();
        if (n < 0) return round(Duration.ofNanos(-n), m).negated(); // Go rounds halfway away from zero
        long r = n % u;
        return Duration.ofNanos(r + r < u ? n - r : n - r + u);
    }

    /** "300ms", "1.5h", "2h45m", "0"; units ns, us, µs, ms, s, m, h. */
    static Duration parse(String s) {
        String orig = s;
        if (s.isEmpty()) throw invalid(orig);
        boolean neg = false;
        if (s.charAt(0) == '-' || s.charAt(0) == '+') {
            neg = s.charAt(0) == '-';
            s = s.substring(1);
        }
        if (s.equals("0")) return Duration.ZERO;
        if (s.isEmpty()) throw invalid(orig);
        // Whole numbers (every default and nearly every flag: "0s", "5s", "300ms") in long arithmetic: BigDecimal
        // would load and initialise BigDecimal, BigInteger and the fork-join pool in the CLI's JVM, ~10 ms of a
        // `lattice up` that the AOT cache does not hold.
        long total = s.indexOf('.') < 0 ? wholeNanos(s, orig) : fractionalNanos(s, orig);
        return Duration.ofNanos(neg ? -total : total);
    }

    private static long wholeNanos(String s, String orig) {
        long total = 0;
        int i = 0;
        try {
            while (i < s.length()) {
                int start = i;
                while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
                if (i == start) throw invalid(orig);
                String num = s.substring(start, i);
                int u = i;
                while (i < s.length() && !Character.isDigit(s.charAt(i)) && s.charAt(i) != '.') i++;
                long unit = unit(s.substring(u, i), orig);
                total = Math.addExact(total, Math.multiplyExact(Long.parseLong(num), unit));
            }
        } catch (ArithmeticException | NumberFormatException e) { // beyond Long.MAX_VALUE nanoseconds, as Go's overflow
            throw invalid(orig);
        }
        return total;
    }

    private static long fractionalNanos(String s, String orig) {
        BigDecimal total = BigDecimal.ZERO;
        int i = 0;
        while (i < s.length()) {
            int start = i;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) i++;
            String num = s.substring(start, i);
            if (num.isEmpty() || num.equals(".") || num.indexOf('.') != num.lastIndexOf('.')) throw invalid(orig);
            int u = i;
            while (i < s.length() && !Character.isDigit(s.charAt(i)) && s.charAt(i) != '.') i++;
            long unit = unit(s.substring(u, i), orig);
            total = total.add(new BigDecimal(num.startsWith(".") ? "0" + num : num).multiply(BigDecimal.valueOf(unit)));
            if (total.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) throw invalid(orig);
        }
        return total.longValue();
    }

    private static long unit(String u, String orig) {
        return switch (u) {
            case "ns" -> 1L;
            case "us", "µs", "μs" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            case "h" -> 3_600_000_000_000L;
            case "" -> throw new IllegalArgumentException("missing unit in duration \"" + orig + "\"");
            default -> throw new IllegalArgumentException("unknown unit \"" + u + "\" in duration \"" + orig + "\"");
        };
    }

    private static IllegalArgumentException invalid(String orig) {
        return new IllegalArgumentException("invalid duration \"" + orig + "\"");
    }
}
