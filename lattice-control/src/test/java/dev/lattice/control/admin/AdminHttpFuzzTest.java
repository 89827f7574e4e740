package dev.lattice.control.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.server.ControlServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

/**
 * Seeded random requests (paths from the real route table with mutated segments, mutated JSON bodies): every answer
 * is a well-formed JSON object, and bad input is a 4xx with a message, never a 500.
 */
class AdminHttpFuzzTest {
    @TempDir
    static Path dir;
    static ControlServer server;
    static AdminHttp http;

    static final String[] METHODS = {"GET", "POST", "DELETE", "PUT", "PATCH"};
    static final String[] PATHS = {"/api/v1/user", "/api/v1/user/1", "/api/v1/user/1/rename/x", "/api/v1/node",
        "/api/v1/node/1", "/api/v1/node/register", "/api/v1/node/1/expire", "/api/v1/node/1/rename/n", "/api/v1/node/1/tags",
        "/api/v1/node/1/approve_routes", "/api/v1/auth/register", "/api/v1/preauthkey", "/api/v1/preauthkey/expire",
        "/api/v1/apikey", "/api/v1/apikey/expire", "/api/v1/apikey/abc", "/api/v1/health"};
    static final String[] BODIES = {"", "{}", "{\"name\":\"u\"}", "{\"user\":\"1\",\"aclTags\":[\"tag:a\"]}",
        "{\"tags\":[\"tag:x\"]}", "{\"routes\":[\"10.0.0.0/8\"]}", "{\"id\":\"1\"}", "{\"expiration\":\"2999-01-01T00:00:00Z\"}",
        "{\"authId\":\"abc\",\"user\":\"u\"}", "[1,2]", "null", "{\"name\":{}}", "{\"tags\":\"tag:a\"}", "{\"id\":1e400}"};
    static final String[] SEGMENTS = {"0", "-1", "99999999999999999999", "%00", "%2F", "..", "abc", "1", "", "tag:x",
        "\u00e9", "9223372036854775807", "?id=x", "?user=%ZZ", "?expiry=yesterday", "?disableExpiry=maybe"};

    @BeforeAll
    static void start() throws Exception {
        server = AdminTestServer.start(dir, "");
        http = new AdminHttp(server.adminApi());
        server.adminApi().createUser(new AdminApi.NewUser("u", null, null));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void randomRequestsGetJsonAndNeverAServerError(long seed) {
        Random r = new Random(seed);
        for (int i = 0; i < 300; i++) {
            String method = METHODS[r.nextInt(METHODS.length)];
            String path = PATHS[r.nextInt(PATHS.length)];
            if (r.nextInt(3) == 0) {
                String[] parts = path.split("/");
                parts[3 + r.nextInt(parts.length - 3)] = SEGMENTS[r.nextInt(SEGMENTS.length)];
                path = String.join("/", parts);
            }
            if (r.nextInt(4) == 0) path += SEGMENTS[r.nextInt(SEGMENTS.length)];
            byte[] body = BODIES[r.nextInt(BODIES.length)].getBytes(StandardCharsets.UTF_8);
            if (r.nextInt(3) == 0 && body.length > 0) body[r.nextInt(body.length)] = (byte) r.nextInt(256);
            AdminHttp.Response resp = http.handle(method, path, body);
            if (resp == null) continue;
            assertThat(resp.status()).as(method + " " + path + " " + new String(body, StandardCharsets.UTF_8)).isLessThan(500);
            JsonNode json = AdminJson.mapper().readTree(resp.body());
            assertThat(json.isObject()).isTrue();
            if (resp.status() != 200) assertThat(json.get("message").asString()).isNotBlank();
        }
    }
}
