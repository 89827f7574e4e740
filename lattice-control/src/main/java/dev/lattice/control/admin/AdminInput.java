package dev.lattice.control.admin;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/**
 * Checks on what an admin sends, before it reaches the store: text must be well-formed Unicode (a lone UTF-16
 * surrogate from a JSON {@code \ud800} escape would be stored as {@code ?}) without control characters, ids must be
 * integers in range, times must be ones protojson can carry. Every refusal is an {@code INVALID_ARGUMENT} with a
 * one-line message that never echoes the offending text (it may not even be printable).
 */
final class AdminInput {
    /** User names, as Headscale's {@code util.ValidateUsername} plus a bound it lacks (our store's). */
    static final int MAX_USER_NAME = 255;
    /** Display names, e-mail addresses. */
    static final int MAX_LABEL = 255;
    /** Any other single value (keys, auth ids, tags, routes, filters): generous, but not unbounded. */
    static final int MAX_VALUE = 4096;

    /** protojson's Timestamp range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. */
    static final Instant MIN_TIME = Instant.parse("0001-01-01T00:00:00Z");
    static final Instant MAX_TIME = Instant.parse("9999-12-31T23:59:59.999999999Z");

    private AdminInput() {}

    /**
     * A single-line value: well-formed, no control characters, at most {@code max} characters.
     *
     * @param what how the message names the value, e.g. {@code field name}
     */
    static String value(String what, String s, int max) {
        wellFormed(what, s);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c)) {
                throw AdminException.invalid(what + " must not contain control characters (U+%04X at character %d)"
                        .formatted((int) c, i + 1));
            }
        }
        if (s.length() > max) throw AdminException.invalid(what + " is longer than " + max + " characters");
        return s;
    }

    static String value(String what, String s) {
        return value(what, s, MAX_VALUE);
    }

    /** Text that may span lines (a policy): well-formed; tabs, newlines and the like are its business. */
    static String wellFormed(String what, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw AdminException.invalid(what + " is not well-formed Unicode (a lone surrogate U+%04X at character %d)"
                        .formatted((int) c, i + 1));
            }
        }
        return s;
    }

    /**
     * Headscale's rule for user names ({@code hscontrol/util.ValidateUsername}): at least 2 characters, starting
     * with a letter, then letters, digits, {@code - . _} and at most one {@code @}. Headscale checks the first
     * <em>byte</em> for a letter; we check the first character, which is what it means.
     */
    static String userName(String name) {
        if (name == null || name.isEmpty()) throw AdminException.invalid("user name must not be empty");
        value("user name", name, MAX_USER_NAME);
        if (name.codePointCount(0, name.length()) < 2) throw AdminException.invalid("user name must be at least 2 characters long");
        if (!Character.isLetter(name.codePointAt(0))) throw AdminException.invalid("user name must start with a letter");
        int at = 0;
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            if (c == '@') {
                if (++at > 1) throw AdminException.invalid("user name cannot contain more than one '@'");
            } else if (!Character.isLetter(c) && !Character.isDigit(c) && c != '-' && c != '.' && c != '_') {
                throw AdminException.invalid("user name contains an invalid character (U+%04X at character %d):"
                        .formatted(c, i + 1) + " use letters, digits, '-', '.', '_' and one '@'");
            }
            i += Character.charCount(c);
        }
        return name;
    }

    /**
     * A non-negative integer as protojson writes a 64-bit id (decimal text). Null for an empty value.
     *
     * @param what how the message names the value, e.g. {@code field id}
     */
    static Long id(String what, String s) {
        if (s == null || s.isEmpty()) return null;
        try {
            long v = Long.parseLong(s);
            if (v >= 0) return v;
        } catch (NumberFormatException e) {
            // the message below
        }
        throw AdminException.invalid(what + " must be an integer from 0 to " + Long.MAX_VALUE);
    }

    /** An RFC 3339 time within protojson's Timestamp range (years 1 to 9999). Null for an empty value. */
    static Instant time(String what, String s) {
        if (s == null || s.isEmpty()) return null;
        Instant t;
        try {
            t = OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            throw AdminException.invalid(what + " must be an RFC 3339 time, e.g. 2030-01-02T15:04:05Z");
        }
        return inRange(what, t);
    }

    /** {@code t} unless it is outside protojson's Timestamp range (which also keeps epoch milliseconds finite). */
    static Instant inRange(String what, Instant t) {
        if (t != null && (t.isBefore(MIN_TIME) || t.isAfter(MAX_TIME))) {
            throw AdminException.invalid(what + " is out of range: years 0001 to 9999");
        }
        return t;
    }
}
