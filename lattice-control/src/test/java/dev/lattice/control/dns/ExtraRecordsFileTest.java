package dev.lattice.control.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.wire.tailcfg.DNSRecord;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The extra records file format: Headscale's (a JSON array of tailcfg.DNSRecord), checked as the config's records are. */
class ExtraRecordsFileTest {
    private static List<DNSRecord> parse(String json) {
        return ExtraRecordsFile.parse(json.getBytes(StandardCharsets.UTF_8)).orElseThrow();
    }

    @Test
    void headscaleDocumentationExample() {
        assertThat(parse("""
                [
                  {"name": "grafana.myvpn.example.com", "type": "A", "value": "100.64.0.3"},
                  {"name": "prometheus.myvpn.example.com", "type": "A", "value": "100.64.0.3"}
                ]""")).containsExactly(new DNSRecord("grafana.myvpn.example.com", "A", "100.64.0.3"),
                new DNSRecord("prometheus.myvpn.example.com", "A", "100.64.0.3"));
    }

    @Test
    void keysMatchWithoutCaseAsGoDoesAndOthersAreIgnored() {
        assertThat(parse("[{\"Name\": \"a.example\", \"TYPE\": \"AAAA\", \"vAlUe\": \"fd7a:115c:a1e0::1\", \"ttl\": 60}]"))
                .containsExactly(new DNSRecord("a.example", "AAAA", "fd7a:115c:a1e0::1"));
    }

    @Test
    void anEmptyTypeLetsTheClientInferAOrAaaa() {
        assertThat(parse("[{\"name\": \"a.example\", \"value\": \"100.64.0.9\"}, {\"name\": \"b.example\", \"type\": null, \"value\": \"::1\"}]"))
                .containsExactly(new DNSRecord("a.example", null, "100.64.0.9"), new DNSRecord("b.example", null, "::1"));
    }

    @Test
    void duplicatesGoAndTheOrderIsStable() {
        String a = "{\"name\": \"a.example\", \"type\": \"A\", \"value\": \"100.64.0.1\"}";
        String b = "{\"name\": \"b.example\", \"type\": \"A\", \"value\": \"100.64.0.2\"}";
        String a2 = "{\"name\": \"a.example\", \"type\": \"A\", \"value\": \"100.64.0.0\"}";
        List<DNSRecord> one = parse("[" + b + "," + a + "," + a2 + "," + a + "]");
        assertThat(one).extracting(DNSRecord::value).containsExactly("100.64.0.0", "100.64.0.1", "100.64.0.2");
        assertThat(parse("[" + a + "," + a2 + "," + b + "]")).isEqualTo(one);
    }

    @Test
    void anEmptyArrayIsNoRecords() {
        assertThat(parse("[]")).isEmpty();
        assertThat(parse("  [ ]\n")).isEmpty();
    }

    /** Headscale skips these and keeps what it had: a writer caught half-way, or nothing said. */
    @ParameterizedTest
    @ValueSource(strings = {"", "null", " null\n"})
    void emptyOrNullSaysNothing(String content) {
        assertThat(ExtraRecordsFile.parse(content.getBytes(StandardCharsets.UTF_8))).isEmpty();
    }

    /** Content and what the refusal says; JSON written with ' for ". */
    static Stream<Arguments> malformed() {
        return Stream.of(
                Arguments.of("[{'name': 'a', 'value': '1.2.3.4'}", "not valid JSON"),
                Arguments.of(" ", "not valid JSON"),
                Arguments.of("[] []", "not valid JSON"),
                Arguments.of("{'name': 'a', 'value': '1.2.3.4'}", "expected a JSON array of records, got object"),
                Arguments.of("[1]", "record 0: expected an object, got number"),
                Arguments.of("[null]", "record 0: null"),
                Arguments.of("[{'value': '1.2.3.4'}]", "record 0: 'name' must not be empty"),
                Arguments.of("[{'name': 5, 'value': '1.2.3.4'}]", "record 0: 'name' must be a string, got number"),
                Arguments.of("[{'name': 'a', 'value': 'host'}]", "record 0 (a): invalid value 'host' (expected an IP address)"),
                Arguments.of("[{'name': 'a', 'type': 'A', 'value': '::1'}]", "(A needs an IPv4 address)"),
                Arguments.of("[{'name': 'a', 'type': 'AAAA', 'value': '1.2.3.4'}]", "(AAAA needs an IPv6 address)"),
                Arguments.of("[{'name': 'a', 'type': 'CNAME', 'value': '1.2.3.4'}]",
                        "invalid type 'CNAME' (Tailscale clients serve only A and AAAA)"),
                Arguments.of("[{'name': 'a', 'value': '1.2.3.4'}, {'name': 'b'}]", "record 1 (b): invalid value ''"));
    }

    @ParameterizedTest
    @MethodSource("malformed")
    void malformedContentIsRefusedNamingTheProblem(String content, String message) {
        assertThatThrownBy(() -> ExtraRecordsFile.parse(content.replace('\'', '"').getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message.replace('\'', '"'));
    }
}
