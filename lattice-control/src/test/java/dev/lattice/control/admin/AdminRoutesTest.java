package dev.lattice.control.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.server.ControlServer;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** The REST API on the main port: Headscale's paths and JSON, and nothing without a live API key. */
class AdminRoutesTest {
    @TempDir
    Path dir;
    ControlServer server;
    AdminRoutes routes;
    String key;

    @BeforeEach
    void start() throws Exception {
        server = AdminTestServer.start(dir, "");
        routes = new AdminRoutes(server.adminApi());
        key = server.adminApi().createApiKey(Instant.now().plusSeconds(3600)).fullKey();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    FullHttpResponse send(HttpMethod m, String uri, String auth, String body) throws Exception {
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, m, uri,
                Unpooled.copiedBuffer(body == null ? "" : body, StandardCharsets.UTF_8));
        if (auth != null) req.headers().set(HttpHeaderNames.AUTHORIZATION, auth);
        try {
            return routes.handle(req);
        } finally {
            req.release();
        }
    }

    static String text(FullHttpResponse r) {
        return r.content().toString(StandardCharsets.UTF_8);
    }

    @Test
    void refusesWithoutAValidKey() throws Exception {
        FullHttpResponse none = send(HttpMethod.GET, "/api/v1/node", null, null);
        assertThat(none.status().code()).isEqualTo(401);
        assertThat(text(none)).isEqualTo("Unauthorized");
        assertThat(send(HttpMethod.GET, "/api/v1/node", key, null).status().code()).as("no Bearer prefix").isEqualTo(401);
        // The last character changed (to one it is not: a key that happened to end in 'x' made this flaky).
        String wrong = key.substring(0, key.length() - 1) + (key.endsWith("x") ? "y" : "x");
        assertThat(send(HttpMethod.GET, "/api/v1/node", "Bearer " + wrong, null).status().code()).isEqualTo(401);
        assertThat(send(HttpMethod.GET, "/api/v1/node", "Bearer nonsense", null).status().code()).isEqualTo(401);
        // Unauthenticated requests change nothing.
        assertThat(send(HttpMethod.POST, "/api/v1/user", null, "{\"name\":\"mallory\"}").status().code()).isEqualTo(401);
        assertThat(server.store().users().byName("mallory")).isEmpty();
    }

    @Test
    void expiredKeyIsRefused() throws Exception {
        long id = server.store().apiKeys().list().getFirst().id();
        server.adminApi().expireApiKey(id, null);
        assertThat(send(HttpMethod.GET, "/api/v1/user", "Bearer " + key, null).status().code()).isEqualTo(401);
    }

    @Test
    void answersHeadscaleShapedJsonWithAKey() throws Exception {
        String auth = "Bearer " + key;
        FullHttpResponse created = send(HttpMethod.POST, "/api/v1/user", auth, "{\"name\":\"alice\",\"display_name\":\"Alice\"}");
        assertThat(created.status().code()).isEqualTo(200);
        JsonNode u = AdminJson.mapper().readTree(text(created)).get("user");
        assertThat(u.get("id").isString()).as("protojson writes uint64 as a string").isTrue();
        assertThat(u.get("displayName").asString()).isEqualTo("Alice");
        assertThat(u.get("createdAt").asString()).endsWith("Z");

        FullHttpResponse list = send(HttpMethod.GET, "/api/v1/user", auth, null);
        assertThat(list.status().code()).isEqualTo(200);
        assertThat(AdminJson.mapper().readTree(text(list)).get("users")).hasSize(1);

        FullHttpResponse pak = send(HttpMethod.POST, "/api/v1/preauthkey", auth,
                "{\"user\":\"" + u.get("id").asString() + "\",\"reusable\":true,\"aclTags\":[]}");
        assertThat(pak.status().code()).isEqualTo(200);
        assertThat(AdminJson.mapper().readTree(text(pak)).get("preAuthKey").get("key").asString()).startsWith("lattice-auth-");

        FullHttpResponse missing = send(HttpMethod.DELETE, "/api/v1/user/999", auth, null);
        assertThat(missing.status().code()).isEqualTo(404);
        JsonNode err = AdminJson.mapper().readTree(text(missing));
        assertThat(err.get("code").asInt()).isEqualTo(5);
        assertThat(err.get("message").asString()).isEqualTo("user with id 999 not found");

        assertThat(send(HttpMethod.PUT, "/api/v1/user", auth, null).status().code()).isEqualTo(405);
        assertThat(send(HttpMethod.GET, "/api/v1/nothing", auth, null).status().code()).isEqualTo(404);
        assertThat(send(HttpMethod.GET, "/api/v1/health", auth, null).status().code()).isEqualTo(200);
    }

    @Test
    void otherPathsAreLeftToTheNextRoutes() throws Exception {
        assertThat(send(HttpMethod.GET, "/key?v=113", null, null)).isNull();
        assertThat(send(HttpMethod.GET, "/api/v2/node", null, null)).isNull();
    }

    @Test
    void keysCreatedWithoutAnExpirationGetTheCliDefaults() throws Exception {
        String auth = "Bearer " + key;
        send(HttpMethod.POST, "/api/v1/user", auth, "{\"name\":\"alice\"}");
        Instant before = Instant.now();
        FullHttpResponse pak = send(HttpMethod.POST, "/api/v1/preauthkey", auth, "{\"user\":\"alice\"}");
        assertThat(pak.status().code()).isEqualTo(200);
        Instant pakExpiry = Instant.parse(AdminJson.mapper().readTree(text(pak)).get("preAuthKey").get("expiration").asString());
        assertThat(pakExpiry).as("1 h, as `preauthkeys create`").isBetween(before.plusSeconds(3600 - 5), Instant.now().plusSeconds(3600));

        FullHttpResponse api = send(HttpMethod.POST, "/api/v1/apikey", auth, "{}");
        assertThat(api.status().code()).isEqualTo(200);
        Instant apiExpiry = server.store().apiKeys().list().stream()
                .max(java.util.Comparator.comparingLong(dev.lattice.control.store.ApiKey::id)).orElseThrow().expiration();
        assertThat(apiExpiry).as("90 days, as `apikeys create`").isBetween(before.plus(java.time.Duration.ofDays(90)).minusSeconds(5),
                Instant.now().plus(java.time.Duration.ofDays(90)));
    }
}
