package dev.lattice.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The REST API's protojson turned into what Headscale's {@code -o json} prints (Go's encoding/json). */
class OutputTest {
    static final JsonMapper M = JsonMapper.builder().build();

    @Test
    void protojsonBecomesGoJson() throws Exception {
        JsonNode api = M.readTree("""
                {"id":"7","machineKey":"mkey:00","ipAddresses":["100.64.0.1"],"name":"web","user":{"id":"2","name":"alice",
                 "createdAt":"2024-05-06T07:08:09.123Z","displayName":"","email":""},"lastSeen":null,
                 "expiry":"2024-05-06T07:08:09Z","preAuthKey":null,"registerMethod":"REGISTER_METHOD_CLI","online":false,
                 "approvedRoutes":[],"tags":["tag:a"]}
                """);
        JsonNode go = Output.toGo(api);
        assertThat(M.writeValueAsString(go)).isEqualTo("{\"id\":7,\"machine_key\":\"mkey:00\",\"ip_addresses\":[\"100.64.0.1\"],"
                + "\"name\":\"web\",\"user\":{\"id\":2,\"name\":\"alice\",\"created_at\":{\"seconds\":1714979289,\"nanos\":123000000}},"
                + "\"expiry\":{\"seconds\":1714979289},\"register_method\":2,\"tags\":[\"tag:a\"]}");
    }

    /** Text printed by Go 1.x for the same value ({@code json.MarshalIndent(v, "", "\t")}, then {@code json.Marshal}). */
    @Test
    void jsonIsSpacedAndEscapedAsGoWritesIt() throws Exception {
        JsonNode v = M.readTree("""
                [{"id":7,"name":"a<b>&c\u2028\\"\\\\\\u0001é","user":{"id":2,"name":"alice"},"tags":["tag:a","tag:b"],
                  "empty":[],"m":{}}]
                """);
        assertThat(GoJson.indent(v)).isEqualTo("""
                [
                \t{
                \t\t"id": 7,
                \t\t"name": "a\\u003cb\\u003e\\u0026c\\u2028\\"\\\\\\u0001é",
                \t\t"user": {
                \t\t\t"id": 2,
                \t\t\t"name": "alice"
                \t\t},
                \t\t"tags": [
                \t\t\t"tag:a",
                \t\t\t"tag:b"
                \t\t],
                \t\t"empty": [],
                \t\t"m": {}
                \t}
                ]""");
        assertThat(GoJson.compact(v)).isEqualTo("[{\"id\":7,\"name\":\"a\\u003cb\\u003e\\u0026c\\u2028\\\"\\\\\\u0001é\","
                + "\"user\":{\"id\":2,\"name\":\"alice\"},\"tags\":[\"tag:a\",\"tag:b\"],\"empty\":[],\"m\":{}}]");
    }

    @Test
    void tableAlignsColumns() {
        assertThat(Output.table(List.of(List.of("ID", "Name"), List.of("10", "a"), List.of("2", "longer"))))
                .isEqualTo("ID | Name\n10 | a\n2  | longer\n");
    }

    @Test
    void shortKeysAsGo() {
        // base64 of 32 zero bytes starts with AAAAA
        assertThat(NodesCommand.shortKey("nodekey:" + "0".repeat(64))).isEqualTo("[AAAAA]");
        assertThat(NodesCommand.shortKey("garbage")).isEmpty();
    }
}
