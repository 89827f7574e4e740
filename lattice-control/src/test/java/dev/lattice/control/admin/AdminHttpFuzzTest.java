package dev.lattice.control.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.server.ControlServer;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

/**
 * Seeded random requests (paths from the real route table with mutated segments, mutated JSON bodies): every answer
 * is a well-formed JSON object, and bad input is a 4xx with a message, never a 500. Then properties of the input
 * checks: strings that are not well-formed Unicode or carry control characters, and numbers that are not finite
 * integers in range, are refused with a one-line 400 wherever the API takes them, and nothing is stored.
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
        server = AdminTestServer.start(dir, "policy:\n  mode: database\n");
        http = new AdminHttp(server.adminApi());
        // Too short for Headscale's rule: a name stored before it, which must stay reachable.
        server.store().users().create("u", null, null);
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

    // ---- input properties ----

    /** Characters no admin input may contain: lone surrogates (either half, or a pair in the wrong order) and controls. */
    static final String[] POISON = {"\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uDC00\uD800", "\u0000", "\n", "\r", "\t",
        "\u001b", "\u007f", "\u0085", "\u009b"};
    /** Characters that are fine on their own, a valid surrogate pair among them. */
    static final String[] FINE = {"a", "b", "z", "0", "7", "-", ".", "_", "\u00e9", "\u4e2d", "\uD83D\uDE00", "@"};

    /** A string that is certainly bad: the oracle is the JDK's UTF-8 encoder and its control-character test. */
    static String poisoned(Random r) {
        while (true) {
            List<String> parts = new ArrayList<>();
            int n = r.nextInt(12);
            for (int i = 0; i < n; i++) parts.add(FINE[r.nextInt(FINE.length)]);
            int poisons = 1 + r.nextInt(2);
            for (int i = 0; i < poisons; i++) parts.add(r.nextInt(parts.size() + 1), POISON[r.nextInt(POISON.length)]);
            String s = String.join("", parts);
            boolean wellFormed = StandardCharsets.UTF_8.newEncoder().canEncode(s);
            if (!wellFormed || s.codePoints().anyMatch(Character::isISOControl)) return s;
        }
    }

    /** Same, but only surrogate damage (a policy may contain tabs and newlines). */
    static String lonelySurrogates(Random r) {
        while (true) {
            String s = poisoned(r).replaceAll("\\p{Cc}", "x");
            if (!StandardCharsets.UTF_8.newEncoder().canEncode(s)) return s;
        }
    }

    /** JSON string literal with every non-ASCII char escaped, so lone surrogates survive into the request. */
    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Everything the admin API can store, to show a refused request changed nothing. */
    static String snapshot() {
        var s = server.store();
        return s.users().list() + "|" + s.preAuthKeys().list() + "|" + s.apiKeys().list() + "|" + s.nodes().list()
                + "|" + s.policy().get();
    }

    static void assertRefused(AdminHttp.Response resp, String what) {
        assertThat(resp).as(what).isNotNull();
        JsonNode json = AdminJson.mapper().readTree(resp.body());
        assertThat(resp.status()).as(what + " -> " + json).isEqualTo(400);
        String message = json.get("message").asString();
        assertThat(message).as(what).isNotBlank().doesNotContain("\n").doesNotContain("\r");
        assertThat(json.get("code").asInt()).as(what).isEqualTo(3);
    }

    /** Every place a string enters the API, with {@code %s} for the bad value (a JSON literal, or a URL part). */
    static final String[][] STRING_INPUTS = {
        {"POST", "/api/v1/user", "{\"name\":%s}"},
        {"POST", "/api/v1/user", "{\"name\":\"carol\",\"displayName\":%s}"},
        {"POST", "/api/v1/user", "{\"name\":\"carol\",\"email\":%s}"},
        {"GET", "/api/v1/user", "{\"name\":%s}"},
        {"POST", "/api/v1/preauthkey", "{\"user\":%s}"},
        {"POST", "/api/v1/preauthkey", "{\"user\":\"u\",\"aclTags\":[%s]}"},
        {"POST", "/api/v1/preauthkey", "{\"aclTags\":[\"tag:a\",%s]}"},
        {"GET", "/api/v1/preauthkey", "{\"user\":%s}"},
        {"GET", "/api/v1/node", "{\"user\":%s}"},
        {"POST", "/api/v1/node/register", "{\"user\":\"u\",\"key\":%s}"},
        {"POST", "/api/v1/auth/register", "{\"user\":\"u\",\"authId\":%s}"},
        {"POST", "/api/v1/auth/register", "{\"user\":%s,\"authId\":\"abc\"}"},
        {"POST", "/api/v1/node/1/tags", "{\"tags\":[%s]}"},
        {"POST", "/api/v1/node/1/approve_routes", "{\"routes\":[%s]}"},
        {"POST", "/api/v1/apikey/expire", "{\"prefix\":%s}"},
        {"POST", "/api/v1/preauthkey", "{\"user\":\"u\",\"expiration\":%s}"},
    };
    static final String[][] URL_INPUTS = {
        {"POST", "/api/v1/user/1/rename/%s"},
        {"POST", "/api/v1/node/1/rename/%s"},
        {"GET", "/api/v1/user?name=%s"},
        {"GET", "/api/v1/node?user=%s"},
        {"POST", "/api/v1/node/register?user=u&key=%s"},
        {"DELETE", "/api/v1/apikey/%s"},
    };

    @ParameterizedTest
    @ValueSource(longs = {11, 12, 13, 14, 15, 16})
    void stringsThatAreNotWellFormedUnicodeOrCarryControlsAreRefusedAndNothingIsStored(long seed) {
        Random r = new Random(seed);
        String before = snapshot();
        for (int i = 0; i < 60; i++) {
            String bad = poisoned(r);
            for (String[] in : STRING_INPUTS) {
                String body = in[2].formatted(json(bad));
                assertRefused(http.handle(in[0], in[1], body.getBytes(StandardCharsets.UTF_8)), in[0] + " " + in[1] + " " + body);
            }
            for (String[] in : URL_INPUTS) {
                // Raw (as a caller handing us a decoded URI would), and %-encoded when UTF-8 can carry it.
                assertRefused(http.handle(in[0], in[1].formatted(bad), new byte[0]), in[0] + " " + json(in[1].formatted(bad)));
                if (StandardCharsets.UTF_8.newEncoder().canEncode(bad)) {
                    String uri = in[1].formatted(enc(bad));
                    assertRefused(http.handle(in[0], uri, new byte[0]), in[0] + " " + uri);
                }
            }
            String policy = "{} // " + lonelySurrogates(r);
            for (String[] in : new String[][] {{"PUT", "/api/v1/policy"}, {"POST", "/api/v1/policy/check"}}) {
                assertRefused(http.handle(in[0], in[1], ("{\"policy\":" + json(policy) + "}").getBytes(StandardCharsets.UTF_8)),
                        in[0] + " " + in[1] + " " + json(policy));
            }
        }
        assertThat(snapshot()).isEqualTo(before);
    }

    static final String[][] NUMBER_INPUTS = {
        {"POST", "/api/v1/user", "{\"name\":%s}"},
        {"POST", "/api/v1/user", "{\"name\":\"carol\",\"displayName\":%s}"},
        {"GET", "/api/v1/user", "{\"id\":%s}"},
        {"POST", "/api/v1/preauthkey", "{\"user\":%s}"},
        {"POST", "/api/v1/preauthkey", "{\"user\":\"u\",\"expiration\":%s}"},
        {"POST", "/api/v1/preauthkey/expire", "{\"id\":%s}"},
        {"DELETE", "/api/v1/preauthkey", "{\"id\":%s}"},
        {"POST", "/api/v1/apikey", "{\"expiration\":%s}"},
        {"POST", "/api/v1/apikey/expire", "{\"id\":%s}"},
        {"DELETE", "/api/v1/apikey/abc", "{\"id\":%s}"},
        {"POST", "/api/v1/node/1/expire", "{\"expiry\":%s}"},
        {"GET", "/api/v1/node", "{\"user\":%s}"},
        {"POST", "/api/v1/auth/register", "{\"user\":%s,\"authId\":\"abc\"}"},
    };

    /** JSON numbers that are not finite integers in range of an id (a double overflows to Infinity). */
    @ParameterizedTest
    @ValueSource(strings = {"1e99999999", "-1e99999999", "1E+400", "1e400", "-1e400", "1.5", "-1", "-0.5",
        "1e-99999", "99999999999999999999", "9223372036854775808", "-9223372036854775809", "1e19", "-9223372036854775808"})
    void numbersThatAreNotFiniteIntegersInRangeAreRefusedAndNothingIsStored(String number) {
        String before = snapshot();
        for (String[] in : NUMBER_INPUTS) {
            String body = in[2].formatted(number);
            assertRefused(http.handle(in[0], in[1], body.getBytes(StandardCharsets.UTF_8)), in[0] + " " + in[1] + " " + body);
            // The same number as a string is no id, time or user name either (a display name may be any text).
            if (in[2].contains("displayName")) continue;
            String quoted = in[2].formatted("\"" + number + "\"");
            AdminHttp.Response resp = http.handle(in[0], in[1], quoted.getBytes(StandardCharsets.UTF_8));
            assertThat(resp.status()).as(in[0] + " " + in[1] + " " + quoted).isBetween(400, 499);
        }
        for (String uri : List.of("/api/v1/user?id=%s", "/api/v1/preauthkey?id=%s", "/api/v1/node/1/expire?expiry=%s",
                "/api/v1/user/%s", "/api/v1/node/%s", "/api/v1/apikey/abc?id=%s")) {
            String u = uri.formatted(enc(number));
            String method = u.contains("expire") ? "POST" : u.startsWith("/api/v1/user?") ? "GET" : "DELETE";
            assertRefused(http.handle(method, u, new byte[0]), method + " " + u);
        }
        assertThat(snapshot()).isEqualTo(before);
    }

    /** Times protojson cannot carry (years outside 0001-9999), or that overflow epoch milliseconds. */
    @ParameterizedTest
    @ValueSource(strings = {"+999999999-12-31T23:59:59Z", "-999999999-01-01T00:00:00Z", "+10000-01-01T00:00:00Z",
        "0000-12-31T23:59:59Z", "2999-01-01T00:00:00+99:00", "Infinity", "NaN", "1e99999999"})
    void timesOutOfRangeAreRefusedAndNothingIsStored(String time) {
        String before = snapshot();
        String t = "\"" + time + "\"";
        for (String[] in : new String[][] {{"POST", "/api/v1/preauthkey", "{\"user\":\"u\",\"expiration\":%s}"},
            {"POST", "/api/v1/apikey", "{\"expiration\":%s}"}}) {
            String body = in[2].formatted(t);
            assertRefused(http.handle(in[0], in[1], body.getBytes(StandardCharsets.UTF_8)), in[0] + " " + in[1] + " " + body);
        }
        assertRefused(http.handle("POST", "/api/v1/node/1/expire?expiry=" + enc(time), new byte[0]), "expiry=" + time);
        assertThat(snapshot()).isEqualTo(before);
    }

    /** Headscale's user-name rule (hscontrol/util.ValidateUsername), plus a length bound. */
    @ParameterizedTest
    @ValueSource(strings = {"a", "1abc", "-abc", ".abc", "ab c", "a/b", "a@b@c", "a:b", "a+b", "a\u200bb", "a\u202eb"})
    void userNamesFollowHeadscalesRules(String name) {
        String before = snapshot();
        assertRefused(http.handle("POST", "/api/v1/user", ("{\"name\":" + json(name) + "}").getBytes(StandardCharsets.UTF_8)), name);
        assertRefused(http.handle("POST", "/api/v1/user/1/rename/" + enc(name), new byte[0]), "rename to " + name);
        assertThat(snapshot()).isEqualTo(before);
    }

    @org.junit.jupiter.api.Test
    void longUserNamesAreRefusedAndGoodOnesAccepted() {
        String before = snapshot();
        assertRefused(http.handle("POST", "/api/v1/user", ("{\"name\":\"" + "a".repeat(256) + "\"}").getBytes(StandardCharsets.UTF_8)), "256 a");
        assertThat(snapshot()).isEqualTo(before);
        for (String good : List.of("ab", "alice@example.com", "j\u00fcrgen", "a-b_c.d", "x".repeat(255))) {
            AdminHttp.Response resp = http.handle("POST", "/api/v1/user", ("{\"name\":" + json(good) + "}").getBytes(StandardCharsets.UTF_8));
            assertThat(resp.status()).as(good + " " + new String(resp.body(), StandardCharsets.UTF_8)).isEqualTo(200);
            assertThat(server.store().users().byName(good)).as(good).isPresent();
            long id = server.store().users().byName(good).orElseThrow().id();
            server.adminApi().deleteUser(id);
        }
    }
}
