package dev.lattice.control.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;

/**
 * One mapping of the YAML tree, read key by key. Every key read (or declared unsupported) is remembered, so
 * {@link #finish()} can reject the rest with the full key path and the nearest known key as a hint. A key with an
 * empty value ({@code key:}) counts as absent, as in Viper.
 */
final class Section {
    private final String path;
    private final JsonNode node;
    private final Report report;
    private final Set<String> known = new LinkedHashSet<>();

    /** What a whole load collects beside the result: keys present but not implemented, and warnings. */
    static final class Report {
        final List<String> unsupported = new ArrayList<>();
        final List<String> warnings = new ArrayList<>();
    }

    Section(String path, JsonNode node, Report report) {
        this.path = path;
        this.node = node;
        this.report = report;
        if (node != null && !node.isNull() && !node.isObject()) {
            throw new ConfigException(label() + ": expected a mapping, got " + kind(node));
        }
    }

    String path(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private String label() {
        return path.isEmpty() ? "(top level)" : path;
    }

    boolean has(String key) {
        known.add(key);
        JsonNode v = raw(key);
        return v != null && !v.isNull();
    }

    private JsonNode raw(String key) {
        return node == null || node.isNull() ? null : node.get(key);
    }

    private JsonNode value(String key) {
        known.add(key);
        JsonNode v = raw(key);
        return v == null || v.isNull() ? null : v;
    }

    Section section(String key) {
        return new Section(path(key), value(key), report);
    }

    String string(String key, String def) {
        JsonNode v = value(key);
        if (v == null) return def;
        if (v.isContainer()) throw bad(key, v, "expected a single value");
        return v.asString();
    }

    boolean bool(String key, boolean def) {
        JsonNode v = value(key);
        if (v == null) return def;
        if (v.isBoolean()) return v.booleanValue();
        if (v.isString()) {
            // Viper (spf13/cast) accepts quoted booleans too.
            switch (v.stringValue().toLowerCase(Locale.ROOT)) {
                case "true", "1" -> { return true; }
                case "false", "0" -> { return false; }
                default -> { }
            }
        }
        throw bad(key, v, "expected true or false");
    }

    int integer(String key, int def, int min, int max) {
        JsonNode v = value(key);
        if (v == null) return def;
        long n;
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            n = v.longValue();
        } else if (v.isString() && v.stringValue().matches("-?[0-9]{1,10}")) {
            n = Long.parseLong(v.stringValue());
        } else {
            throw bad(key, v, "expected an integer");
        }
        if (n < min || n > max) throw bad(key, v, "must be between " + min + " and " + max);
        return (int) n;
    }

    Duration duration(String key, Duration def) {
        return duration(key, def, GoDuration::parse);
    }

    Duration duration(String key, Duration def, Function<String, Duration> parser) {
        JsonNode v = value(key);
        if (v == null) return def;
        if (v.isContainer()) throw bad(key, v, "expected a duration like 30m or 1h30m");
        String text = v.asString();
        // A bare number is nanoseconds to Viper: a trap, so only 0 is allowed without a unit.
        if (v.isNumber() && !text.equals("0")) throw bad(key, v, "missing unit, write e.g. " + text + "s");
        try {
            Duration d = parser.apply(text);
            if (d.isNegative()) throw bad(key, v, "must not be negative");
            return d;
        } catch (IllegalArgumentException e) {
            throw bad(key, v, "expected a duration like 30m or 1h30m");
        }
    }

    List<String> strings(String key) {
        JsonNode v = value(key);
        if (v == null) return List.of();
        if (v.isString()) return v.stringValue().isEmpty() ? List.of() : List.of(v.stringValue());
        if (!v.isArray()) throw bad(key, v, "expected a list");
        List<String> out = new ArrayList<>();
        int i = 0;
        for (JsonNode e : v.values()) {
            if (e.isContainer() || e.isNull()) {
                throw new ConfigException(path(key) + "[" + i + "]: expected a single value, got " + kind(e));
            }
            out.add(e.asString());
            i++;
        }
        return List.copyOf(out);
    }

    /** A list of mappings, each read by {@code each} with its own section (path {@code key[i]}). */
    <T> List<T> list(String key, Function<Section, T> each) {
        JsonNode v = value(key);
        if (v == null) return List.of();
        if (!v.isArray()) throw bad(key, v, "expected a list");
        List<T> out = new ArrayList<>();
        int i = 0;
        for (JsonNode e : v.values()) {
            Section s = new Section(path(key) + "[" + i++ + "]", e, report);
            out.add(each.apply(s));
            s.finish();
        }
        return List.copyOf(out);
    }

    /** A mapping from free-form names (e.g. domains) to lists of strings. */
    Map<String, List<String>> stringListMap(String key) {
        JsonNode v = value(key);
        if (v == null) return Map.of();
        if (!v.isObject()) throw bad(key, v, "expected a mapping");
        Map<String, List<String>> out = new LinkedHashMap<>();
        Section inner = new Section(path(key), v, report);
        for (String name : v.propertyNames()) out.put(name, inner.strings(name));
        return java.util.Collections.unmodifiableMap(out);
    }

    /** A mapping from free-form names to single values. */
    Map<String, String> stringMap(String key) {
        JsonNode v = value(key);
        if (v == null) return Map.of();
        if (!v.isObject()) throw bad(key, v, "expected a mapping");
        Map<String, String> out = new LinkedHashMap<>();
        Section inner = new Section(path(key), v, report);
        for (String name : v.propertyNames()) out.put(name, inner.string(name, ""));
        return java.util.Collections.unmodifiableMap(out);
    }

    /** Parses a value with {@code parser}; its {@link IllegalArgumentException} becomes a message naming key and value. */
    <T> T parsed(String key, T def, Function<String, T> parser) {
        String text = string(key, null);
        if (text == null || text.isEmpty()) return def;
        try {
            return parser.apply(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(path(key) + ": invalid value \"" + text + "\" (" + e.getMessage() + ")");
        }
    }

    /** Keys Headscale knows and Lattice accepts without acting on them; each present one is reported. */
    void unsupported(String... keys) {
        for (String k : keys) {
            known.add(k);
            JsonNode v = raw(k);
            if (v == null) continue;
            if (v.isObject()) {
                for (String inner : v.propertyNames()) report.unsupported.add(path(k) + "." + inner);
            } else {
                report.unsupported.add(path(k));
            }
        }
    }

    /** Like {@link #unsupported}, for a sub-mapping whose own keys are known: typos inside it are still caught. */
    void unsupportedSection(String key, String... innerKeys) {
        Section s = section(key);
        s.unsupported(innerKeys);
        s.finish();
    }

    void warn(String message) {
        report.warnings.add(message);
    }

    void fail(String key, String message) {
        throw new ConfigException(path(key) + ": " + message);
    }

    ConfigException bad(String key, JsonNode v, String why) {
        String shown = v.isContainer() ? kind(v) : "\"" + v.asString() + "\"";
        return new ConfigException(path(key) + ": invalid value " + shown + " (" + why + ")");
    }

    /** Rejects every key that was neither read nor declared. */
    void finish() {
        if (node == null || node.isNull()) return;
        for (String k : node.propertyNames()) {
            if (known.contains(k)) continue;
            String hint = nearest(k, known);
            throw new ConfigException(path(k) + ": unknown key" + (hint == null ? "" : " (did you mean " + hint + "?)"));
        }
    }

    private static String kind(JsonNode v) {
        if (v.isObject()) return "a mapping";
        if (v.isArray()) return "a list";
        return "\"" + v.asString() + "\"";
    }

    /** The known key within edit distance 2 (or a third of the length), if any. */
    static String nearest(String k, Collection<String> candidates) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = distance(k.toLowerCase(Locale.ROOT), c);
            if (d < bestD) {
                bestD = d;
                best = c;
            }
        }
        return best != null && bestD <= Math.max(2, k.length() / 3) ? best : null;
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
