package dev.lattice.control.cli;

import java.io.PrintStream;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Prints results as Headscale's CLI does: a message or a table by default, or with {@code -o json|json-line|yaml}
 * the object as Headscale's CLI serialises it (Go's encoding/json over the protobuf structs: snake_case names,
 * empty fields left out, numeric ids, timestamps as {@code {"seconds":N,"nanos":N}}, enums as numbers), so jq
 * filters written for {@code headscale ... -o json} keep working.
 */
final class Output {
    enum Format { TABLE, JSON, JSON_LINE, YAML }

    static final DateTimeFormatter TABLE_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final Set<String> TIME_FIELDS = Set.of("createdAt", "lastSeen", "expiry", "expiration");
    private static final Set<String> INT_FIELDS = Set.of("id");
    private static final Map<String, Integer> REGISTER_METHODS = Map.of("REGISTER_METHOD_UNSPECIFIED", 0,
            "REGISTER_METHOD_AUTH_KEY", 1, "REGISTER_METHOD_CLI", 2, "REGISTER_METHOD_OIDC", 3);
    private static final YAMLMapper YAML = YAMLMapper.builder().build();

    private final Format format;
    private final PrintStream out;

    Output(Format format, PrintStream out) {
        this.format = format;
        this.out = out;
    }

    static Format parseFormat(String text) {
        return switch (text == null ? "" : text) {
            case "" -> Format.TABLE;
            case "json" -> Format.JSON;
            case "json-line" -> Format.JSON_LINE;
            case "yaml" -> Format.YAML;
            default -> throw new UsageException("unknown output format \"" + text + "\": use json, json-line or yaml");
        };
    }

    PrintStream out() {
        return out;
    }

    /** A single result: {@code message} by default, the object in a machine format. */
    void result(JsonNode protoJson, String message) {
        if (format == Format.TABLE) out.println(message);
        else print(toGo(protoJson == null ? F.objectNode() : protoJson));
    }

    /** Like {@link #result} for a value already in Headscale's CLI shape (e.g. {@code {"Result":"Node deleted"}}). */
    void raw(JsonNode goJson, String message) {
        if (format == Format.TABLE) out.println(message);
        else print(goJson);
    }

    /** A listing: a table by default, the array in a machine format. */
    void list(JsonNode protoArray, List<String> header, Function<JsonNode, List<String>> row) {
        if (format != Format.TABLE) {
            print(toGo(protoArray));
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        rows.add(header);
        for (JsonNode n : protoArray) rows.add(row.apply(n));
        out.print(table(rows));
    }

    private void print(JsonNode n) {
        switch (format) {
            case JSON -> out.println(GoJson.indent(n));
            case JSON_LINE -> out.println(GoJson.compact(n));
            case YAML -> out.print(YAML.writeValueAsString(n));
            case TABLE -> throw new IllegalStateException();
        }
    }

    /** Left-aligned columns separated by {@code " | "}, header first. */
    static String table(List<List<String>> rows) {
        int cols = rows.getFirst().size();
        int[] w = new int[cols];
        for (List<String> r : rows) for (int i = 0; i < cols; i++) w[i] = Math.max(w[i], r.get(i).length());
        StringBuilder sb = new StringBuilder();
        for (List<String> r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < cols; i++) {
                if (i > 0) line.append(" | ");
                line.append(r.get(i));
                if (i < cols - 1) line.append(" ".repeat(w[i] - r.get(i).length()));
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    // ---- protojson (the API's JSON) -> Go encoding/json of the same protobuf message (Headscale's -o json) ----

    static JsonNode toGo(JsonNode n) {
        if (n.isArray()) {
            ArrayNode a = F.arrayNode();
            for (JsonNode e : n) a.add(toGo(e));
            return a;
        }
        if (!n.isObject()) return n;
        ObjectNode o = F.objectNode();
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            JsonNode v = convert(e.getKey(), e.getValue());
            if (!isEmpty(v)) o.set(snake(e.getKey()), v);
        }
        return o;
    }

    private static JsonNode convert(String key, JsonNode v) {
        if (v.isString() && INT_FIELDS.contains(key)) {
            try {
                return F.numberNode(Long.parseLong(v.asString()));
            } catch (NumberFormatException e) {
                return v;
            }
        }
        if (v.isString() && TIME_FIELDS.contains(key)) {
            Instant t = OffsetDateTime.parse(v.asString()).toInstant();
            ObjectNode ts = F.objectNode();
            if (t.getEpochSecond() != 0) ts.put("seconds", t.getEpochSecond());
            if (t.getNano() != 0) ts.put("nanos", t.getNano());
            return ts;
        }
        if (v.isString() && key.equals("registerMethod")) return F.numberNode(REGISTER_METHODS.getOrDefault(v.asString(), 0));
        return toGo(v);
    }

    /** Go's omitempty: null, false, 0, "" and empty lists are left out. */
    private static boolean isEmpty(JsonNode v) {
        return v == null || v.isNull() || v.isBoolean() && !v.asBoolean() || v.isNumber() && v.asLong() == 0 && v.asDouble() == 0
                || v.isString() && v.asString().isEmpty() || v.isArray() && v.isEmpty();
    }

    static String snake(String camel) {
        StringBuilder sb = new StringBuilder(camel.length() + 4);
        for (int i = 0; i < camel.length(); i++) {
            char c = camel.charAt(i);
            if (Character.isUpperCase(c)) sb.append('_').append(Character.toLowerCase(c));
            else sb.append(c);
        }
        return sb.toString();
    }

    // ---- table cells ----

    static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? "" : v.asString();
    }

    static String time(JsonNode n, String field, String ifUnset) {
        String s = text(n, field);
        return s.isEmpty() ? ifUnset : TABLE_TIME.format(OffsetDateTime.parse(s).toInstant());
    }

    static String join(JsonNode n, String field, String sep) {
        JsonNode v = n.get(field);
        if (v == null || !v.isArray()) return "";
        List<String> parts = new ArrayList<>();
        for (JsonNode e : v) parts.add(e.asString());
        return String.join(sep, parts);
    }
}
