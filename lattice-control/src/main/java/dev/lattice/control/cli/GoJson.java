package dev.lattice.control.cli;

import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * JSON text as Go's encoding/json writes it, which Headscale's {@code -o json} ({@code json.MarshalIndent(v, "",
 * "\t")}) and {@code -o json-line} ({@code json.Marshal}) print: {@code "key": value} with tab indentation, one
 * element per line, {@code []}/{@code {}} when empty, and strings escaped as Go does ({@code <}, {@code >},
 * {@code &}, U+2028 and U+2029 as {@code \\u} escapes).
 */
final class GoJson {
    private GoJson() {}

    static String indent(JsonNode n) {
        StringBuilder sb = new StringBuilder();
        write(sb, n, "\t", 0);
        return sb.toString();
    }

    static String compact(JsonNode n) {
        StringBuilder sb = new StringBuilder();
        write(sb, n, null, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, JsonNode n, String indent, int depth) {
        if (n.isObject()) {
            if (n.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                if (!first) sb.append(',');
                first = false;
                newline(sb, indent, depth + 1);
                string(sb, e.getKey());
                sb.append(indent == null ? ":" : ": ");
                write(sb, e.getValue(), indent, depth + 1);
            }
            newline(sb, indent, depth);
            sb.append('}');
        } else if (n.isArray()) {
            if (n.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            boolean first = true;
            for (JsonNode e : n) {
                if (!first) sb.append(',');
                first = false;
                newline(sb, indent, depth + 1);
                write(sb, e, indent, depth + 1);
            }
            newline(sb, indent, depth);
            sb.append(']');
        } else if (n.isString()) {
            string(sb, n.asString());
        } else if (n.isNull() || n.isMissingNode()) {
            sb.append("null");
        } else {
            sb.append(n.asString());
        }
    }

    private static void newline(StringBuilder sb, String indent, int depth) {
        if (indent == null) return;
        sb.append('\n');
        sb.append(indent.repeat(depth));
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\u2028' || c == '\u2029') {
                        sb.append("\\u").append(HEX[c >> 12 & 0xf]).append(HEX[c >> 8 & 0xf]).append(HEX[c >> 4 & 0xf])
                                .append(HEX[c & 0xf]);
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
