package dev.lattice.control.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.core.json.JsonReadFeature;

/**
 * A HuJSON (JSON with comments and trailing commas) tree whose every value remembers its line and column, so
 * policy errors can point at the offending text. Jackson's own tree drops locations, hence this small one.
 */
final class HuJson {
    /** Bound on untrusted input (with {@link PolicySize}): policies are small; deeper is a mistake or an attack. */
    static final int MAX_DEPTH = 64;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(JsonReadFeature.ALLOW_JAVA_COMMENTS)
            .enable(JsonReadFeature.ALLOW_TRAILING_COMMA)
            .build();

    private HuJson() {}

    sealed interface Value permits Obj, Arr, Str, Num, Bool, Null {
        int line();

        int column();

        /** What this value is, for "expected X, got Y" messages. */
        String kind();
    }

    /** Members keep the file's order; {@code keyLines}/{@code keyColumns} point at each member's name. */
    record Obj(Map<String, Member> members, int line, int column) implements Value {
        public String kind() {
            return "an object";
        }
    }

    record Member(String key, int line, int column, Value value) {}

    record Arr(List<Value> items, int line, int column) implements Value {
        public String kind() {
            return "an array";
        }
    }

    record Str(String text, int line, int column) implements Value {
        public String kind() {
            return "a string";
        }
    }

    record Num(String text, int line, int column) implements Value {
        public String kind() {
            return "a number";
        }
    }

    record Bool(boolean value, int line, int column) implements Value {
        public String kind() {
            return "a boolean";
        }
    }

    record Null(int line, int column) implements Value {
        public String kind() {
            return "null";
        }
    }

    static Value parse(String text) throws PolicyException {
        PolicySize.check(text);
        try (JsonParser p = FACTORY.createParser(ObjectReadContext.empty(), text)) {
            JsonToken t = p.nextToken();
            if (t == null) throw new PolicyException("policy is empty (use {} to deny everything)", 1, 1);
            Value v = read(p, t, 0);
            JsonToken extra = p.nextToken();
            if (extra != null) {
                TokenStreamLocation l = p.currentTokenLocation();
                throw new PolicyException("unexpected content after the policy object", l.getLineNr(), l.getColumnNr());
            }
            return v;
        } catch (JacksonException e) {
            TokenStreamLocation l = e.getLocation();
            String msg = e.getOriginalMessage();
            int nl = msg == null ? -1 : msg.indexOf('\n');
            if (nl > 0) msg = msg.substring(0, nl);
            throw new PolicyException("invalid HuJSON: " + msg, l == null ? 0 : Math.max(1, l.getLineNr()),
                    l == null ? 0 : Math.max(1, l.getColumnNr()));
        }
    }

    private static Value read(JsonParser p, JsonToken t, int depth) throws PolicyException {
        TokenStreamLocation l = p.currentTokenLocation();
        int line = l.getLineNr(), col = l.getColumnNr();
        if (depth > MAX_DEPTH) throw new PolicyException("nesting deeper than " + MAX_DEPTH, line, col);
        switch (t) {
            case START_OBJECT -> {
                Map<String, Member> members = new LinkedHashMap<>();
                JsonToken k;
                while ((k = p.nextToken()) == JsonToken.PROPERTY_NAME) {
                    TokenStreamLocation kl = p.currentTokenLocation();
                    String key = p.currentName();
                    Value v = read(p, p.nextToken(), depth + 1);
                    if (members.putIfAbsent(key, new Member(key, kl.getLineNr(), kl.getColumnNr(), v)) != null) {
                        throw new PolicyException("duplicate key \"" + key + "\"", kl.getLineNr(), kl.getColumnNr());
                    }
                }
                return new Obj(members, line, col);
            }
            case START_ARRAY -> {
                List<Value> items = new ArrayList<>();
                JsonToken n;
                while ((n = p.nextToken()) != JsonToken.END_ARRAY) items.add(read(p, n, depth + 1));
                return new Arr(items, line, col);
            }
            case VALUE_STRING -> {
                return new Str(p.getString(), line, col);
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                return new Num(p.getString(), line, col);
            }
            case VALUE_TRUE -> {
                return new Bool(true, line, col);
            }
            case VALUE_FALSE -> {
                return new Bool(false, line, col);
            }
            case VALUE_NULL -> {
                return new Null(line, col);
            }
            default -> throw new PolicyException("unexpected " + t, line, col);
        }
    }
}
