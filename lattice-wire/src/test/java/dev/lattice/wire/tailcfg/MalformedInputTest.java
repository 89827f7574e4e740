package dev.lattice.wire.tailcfg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Mutated golden bodies (what a buggy or hostile client could send): every outcome is either a value that
 * re-encodes cleanly or a {@link JacksonException}. Never another exception type, which would escape the
 * server's error handling as a 500 or a dropped stream.
 */
class MalformedInputTest {
    static final JsonNodeFactory F = JsonNodeFactory.instance;
    static final List<String> WEIRD_STRINGS = List.of("", "x", "nodekey:", "nodekey:zz", "mkey:" + "0".repeat(64),
            "nodekey:" + "0".repeat(63), "1.2.3.4", "1.2.3.4/33", "::1/129", "::ffff:1.2.3.4/64", "fe80::1%eth0/64",
            "[::1]:99999", "1.2.3.4:", ":80", "[fe80::1%]:1", "example.com:80", "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59-01:00", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00.1234567891Z", "true", "null",
            "\u0000", "\uD800", "1e999", "%%%", "/32", "100.64.0.1/032", "127.3.3.40:x", "signature-v9");

    static LongStream seeds() {
        return LongStream.range(0, 400);
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void mutatedTreesDecodeOrFailAsJacksonException(long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        var files = new ArrayList<>(GoldenTest.FILES.entrySet());
        files.sort(Map.Entry.comparingByKey());
        var file = files.get(rnd.nextInt(files.size()));
        JsonNode tree = Tailcfg.json().readTree(GoldenTest.resource(file.getKey()));
        int mutations = 1 + rnd.nextInt(4);
        for (int i = 0; i < mutations; i++) tree = mutate(tree, rnd, 0);
        String text = Tailcfg.json().writeValueAsString(tree);
        check(text, file.getValue());
        // The same bytes read into every other type too: a body sent to the wrong endpoint.
        check(text, files.get(rnd.nextInt(files.size())).getValue());
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void mutatedBytesDecodeOrFailAsJacksonException(long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        var files = new ArrayList<>(GoldenTest.FILES.entrySet());
        files.sort(Map.Entry.comparingByKey());
        var file = files.get(rnd.nextInt(files.size()));
        byte[] b = GoldenTest.resource(file.getKey()).getBytes(StandardCharsets.UTF_8);
        switch (rnd.nextInt(3)) {
            case 0 -> { for (int i = 0; i < 1 + rnd.nextInt(8); i++) b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256); }
            case 1 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            default -> {
                String[] tokens = {"{", "}", "[", "]", ",", ":", "\"", "null", "-", "1e400", "\\u", "true"};
                int at = rnd.nextInt(b.length);
                String t = tokens[rnd.nextInt(tokens.length)];
                byte[] n = new byte[b.length + t.length()];
                System.arraycopy(b, 0, n, 0, at);
                System.arraycopy(t.getBytes(StandardCharsets.UTF_8), 0, n, at, t.length());
                System.arraycopy(b, at, n, at + t.length(), b.length - at);
                b = n;
            }
        }
        try {
            Object v = Tailcfg.json().readValue(b, file.getValue());
            reencode(v);
        } catch (JacksonException expected) {
            // fine
        } catch (RuntimeException e) {
            fail("seed " + seed + " " + file.getKey() + ": " + e, e);
        }
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void deepNestingIsRefused(long seed) {
        int depth = 2000 + (int) seed;
        String s = "{\"Hostinfo\":" + "[".repeat(depth) + "]".repeat(depth) + "}";
        try {
            Tailcfg.json().readValue(s, Node.class);
            fail("accepted nesting " + depth);
        } catch (JacksonException expected) {
            assertThat(expected).isNotNull();
        }
    }

    static void check(String text, Class<?> type) {
        try {
            Object v = Tailcfg.json().readValue(text, type);
            reencode(v);
        } catch (JacksonException expected) {
            // fine: a clean decoding error
        } catch (RuntimeException e) {
            fail(type.getSimpleName() + " <- " + GoldenTest.class.getSimpleName() + " mutation " + Tailcfg.clip(text) + ": " + e, e);
        }
    }

    static void reencode(Object v) {
        // Encoding what we accepted may only fail the way Go's Marshal does (e.g. a year past 9999 after UTC).
        try {
            Tailcfg.json().writeValueAsString(v);
        } catch (JacksonException e) {
            assertThat(e).hasStackTraceContaining("year outside");
        }
    }

    static JsonNode mutate(JsonNode n, SplittableRandom rnd, int depth) {
        boolean container = n.isContainer() && n.size() > 0;
        if (!container || rnd.nextInt(4) == 0 || depth > 12) return randomValue(rnd);
        if (n instanceof ObjectNode o) {
            var names = new ArrayList<String>();
            o.propertyNames().forEach(names::add);
            String k = names.get(rnd.nextInt(names.size()));
            switch (rnd.nextInt(6)) {
                case 0 -> o.remove(k);
                case 1 -> o.set(k.toLowerCase(), o.remove(k)); // Go matches names case-insensitively
                default -> o.set(k, mutate(o.get(k), rnd, depth + 1));
            }
            return o;
        }
        ArrayNode a = (ArrayNode) n;
        int i = rnd.nextInt(a.size());
        a.set(i, mutate(a.get(i), rnd, depth + 1));
        return a;
    }

    static JsonNode randomValue(SplittableRandom rnd) {
        return switch (rnd.nextInt(9)) {
            case 0 -> F.nullNode();
            case 1 -> F.booleanNode(rnd.nextBoolean());
            case 2 -> F.numberNode(rnd.nextLong());
            case 3 -> F.numberNode(rnd.nextDouble() * 1e6 - 5e5);
            case 4 -> F.numberNode(new java.math.BigInteger(100, new java.util.Random(rnd.nextLong())));
            case 5 -> F.arrayNode().add(F.stringNode(WEIRD_STRINGS.get(rnd.nextInt(WEIRD_STRINGS.size()))));
            case 6 -> F.objectNode().put("x", 1);
            default -> F.stringNode(WEIRD_STRINGS.get(rnd.nextInt(WEIRD_STRINGS.size())));
        };
    }
}
