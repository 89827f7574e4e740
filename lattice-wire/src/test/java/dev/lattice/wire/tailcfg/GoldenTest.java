package dev.lattice.wire.tailcfg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Golden files written by Go's {@code json.Marshal} of real {@code tailcfg} values (see
 * src/test/resources/tailcfg/README.md): Java must decode each one and write it back unchanged, up to field
 * order and number spelling ({@code 1} vs {@code 1.0}). The re-encodings are left in target/tailcfg-java for
 * checking the other direction with the Go program.
 */
class GoldenTest {
    static final Map<String, Class<?>> FILES = Map.ofEntries(
            Map.entry("map-response-full.json", MapResponse.class),
            Map.entry("map-response-delta.json", MapResponse.class),
            Map.entry("map-response-keepalive.json", MapResponse.class),
            Map.entry("register-request.json", RegisterRequest.class),
            Map.entry("register-request-logout.json", RegisterRequest.class),
            Map.entry("register-response.json", RegisterResponse.class),
            Map.entry("register-response-authurl.json", RegisterResponse.class),
            Map.entry("register-response-error.json", RegisterResponse.class),
            Map.entry("map-request.json", MapRequest.class),
            Map.entry("map-request-lite.json", MapRequest.class),
            Map.entry("derp-map.json", DERPMap.class),
            Map.entry("key-response.json", OverTLSPublicKeyResponse.class),
            Map.entry("early-noise.json", EarlyNoise.class),
            Map.entry("set-dns-request.json", SetDNSRequest.class),
            Map.entry("derp-admit-request.json", DERPAdmitClientRequest.class),
            Map.entry("derp-admit-response.json", DERPAdmitClientResponse.class),
            Map.entry("node.json", Node.class),
            Map.entry("hostinfo.json", Hostinfo.class));

    static Stream<Arguments> files() {
        return FILES.entrySet().stream().sorted(Map.Entry.comparingByKey()).map(e -> Arguments.of(e.getKey(), e.getValue()));
    }

    static String resource(String name) throws IOException {
        try (InputStream in = GoldenTest.class.getResourceAsStream("/tailcfg/" + name)) {
            assertThat(in).as(name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void javaRewritesWhatGoWrote(String name, Class<?> type) throws IOException {
        String go = resource(name);
        Object value = Tailcfg.json().readValue(go, type);
        String java = Tailcfg.json().writeValueAsString(value);
        Path out = Path.of("target", "tailcfg-java");
        Files.createDirectories(out);
        Files.writeString(out.resolve(name), java + "\n");

        JsonNode javaTree = normalize(Tailcfg.json().readTree(java));
        JsonNode goTree = normalize(Tailcfg.json().readTree(go));
        dropNullsAbsentIn(goTree, javaTree);
        assertThat(javaTree).as(name).isEqualTo(goTree);
        // Decoding is stable: the Java text decodes to an equal value (records with byte[] aside, compare as JSON).
        Object again = Tailcfg.json().readValue(java, type);
        assertThat(Tailcfg.json().writeValueAsString(again)).isEqualTo(Tailcfg.json().writeValueAsString(value));
    }

    /**
     * Go writes {@code "X": null} for a nil slice without omitempty; Java omits it, which Go reads the same.
     * Only such members are dropped: a null Java did write (a map value) must still match.
     */
    static void dropNullsAbsentIn(JsonNode go, JsonNode java) {
        if (go.isObject() && java.isObject()) {
            go.properties().removeIf(e -> e.getValue().isNull() && !java.has(e.getKey()));
            go.properties().forEach(e -> {
                if (java.has(e.getKey())) dropNullsAbsentIn(e.getValue(), java.get(e.getKey()));
            });
        } else if (go.isArray() && java.isArray() && go.size() == java.size()) {
            for (int i = 0; i < go.size(); i++) dropNullsAbsentIn(go.get(i), java.get(i));
        }
    }

    /** Numbers become BigDecimals without trailing zeros so 1 and 1.0 compare equal; everything else as is. */
    static JsonNode normalize(JsonNode n) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (n.isNumber()) return f.numberNode(new BigDecimal(n.asString()).stripTrailingZeros());
        if (n.isArray()) {
            var a = f.arrayNode();
            n.values().forEach(x -> a.add(normalize(x)));
            return a;
        }
        if (n.isObject()) {
            var o = f.objectNode();
            n.properties().forEach(e -> o.set(e.getKey(), normalize(e.getValue())));
            return o;
        }
        return n;
    }
}
