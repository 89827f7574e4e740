package dev.lattice.wire.tailcfg;

import java.util.Locale;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Helpers for the types kept as JSON objects ({@link Hostinfo}, {@link NetInfo}): Go-like checks of the
 * fields we know, and Go-like case-insensitive field lookup.
 */
final class JsonObjects {
    enum Kind { STRING, BOOL, OPT_BOOL, INT, STRINGS, OBJECT, ARRAY }

    private JsonObjects() {}

    /** Fails (as Go's decoder would) if a known field, matched case-insensitively, has the wrong JSON type. */
    static void check(String type, ObjectNode obj, Map<String, Kind> schemaLower) {
        for (Map.Entry<String, JsonNode> e : obj.properties()) {
            Kind k = schemaLower.get(e.getKey().toLowerCase(Locale.ROOT));
            JsonNode v = e.getValue();
            if (k == null || v.isNull()) continue; // Go leaves the field unchanged for null
            boolean ok = switch (k) {
                case STRING -> v.isString();
                case BOOL, OPT_BOOL -> v.isBoolean();
                case INT -> v.isIntegralNumber() && v.canConvertToLong();
                case STRINGS -> v.isArray() && v.valueStream().allMatch(x -> x.isString() || x.isNull());
                case OBJECT -> v.isObject();
                case ARRAY -> v.isArray();
            };
            if (!ok) {
                throw new IllegalArgumentException(type + "." + e.getKey() + ": expected " + k + ", got " + v.getNodeType());
            }
        }
    }

    /** The field named {@code goName}, or one equal ignoring case, or null (also for JSON null). */
    static JsonNode get(ObjectNode obj, String goName) {
        JsonNode v = obj.get(goName);
        if (v == null) {
            for (Map.Entry<String, JsonNode> e : obj.properties()) {
                if (e.getKey().equalsIgnoreCase(goName)) {
                    v = e.getValue();
                    break;
                }
            }
        }
        return v == null || v.isNull() ? null : v;
    }

    /** Removes {@code goName} and its case variants, so a following put is the only match. */
    static void remove(ObjectNode obj, String goName) {
        obj.properties().removeIf(e -> e.getKey().equalsIgnoreCase(goName));
    }
}
