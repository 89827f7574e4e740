package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.admin.AdminHttp;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The OpenAPI (Swagger 2.0) document the server serves at Headscale's path describes exactly the REST routes it
 * implements: every route is in it, every operation in it is routed (not a 404 or 405 from the dispatcher), and its
 * references resolve. Also the front port's other small endpoints: /version, /robots.txt, /bootstrap-dns.
 */
class OpenApiTest {
    static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path dir;
    ControlServer server;
    HttpClient http;

    @BeforeEach
    void start() throws Exception {
        server = ControlServer.start(TestServer.config(dir, ""));
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @AfterEach
    void stop() {
        http.close();
        server.close();
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(server.config().serverUrl().resolve(path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode document() throws Exception {
        HttpResponse<String> r = get("/swagger/v1/openapiv2.json");
        assertThat(r.statusCode()).as("served without an API key, as Headscale's").isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("application/json");
        return JSON.readTree(r.body());
    }

    static Set<String> operations(JsonNode doc) {
        Set<String> ops = new TreeSet<>();
        for (Map.Entry<String, JsonNode> p : doc.get("paths").properties()) {
            for (Map.Entry<String, JsonNode> m : p.getValue().properties()) ops.add(m.getKey().toUpperCase() + " " + p.getKey());
        }
        return ops;
    }

    @Test
    void everyImplementedRouteIsDocumentedAndViceVersa() throws Exception {
        JsonNode doc = document();
        assertThat(doc.get("swagger").asString()).isEqualTo("2.0");
        Set<String> implemented = new TreeSet<>();
        for (AdminHttp.Route r : AdminHttp.routes()) implemented.add(r.method() + " " + r.template());
        assertThat(operations(doc)).isEqualTo(implemented);
    }

    @Test
    void everyDocumentedOperationIsRoutedAndItsReferencesResolve() throws Exception {
        JsonNode doc = document();
        AdminHttp api = new AdminHttp(server.adminApi());
        Set<String> ids = new HashSet<>();
        List<String> refs = new ArrayList<>();
        collectRefs(doc, refs);
        for (String ref : refs) {
            assertThat(doc.get("definitions").get(ref.substring("#/definitions/".length()))).as(ref).isNotNull();
        }
        for (Map.Entry<String, JsonNode> p : doc.get("paths").properties()) {
            for (Map.Entry<String, JsonNode> m : p.getValue().properties()) {
                assertThat(ids.add(m.getValue().get("operationId").asString())).as("unique operationId").isTrue();
                String path = p.getKey().replaceAll("\\{(id|oldId|nodeId)}", "999").replaceAll("\\{[a-zA-Z]+}", "x");
                AdminHttp.Response r = api.handle(m.getKey().toUpperCase(), path, "{}".getBytes(StandardCharsets.UTF_8));
                JsonNode body = JSON.readTree(r.body());
                String what = m.getKey() + " " + p.getKey() + " -> " + r.status() + " " + body;
                assertThat(r.status()).as(what).isNotEqualTo(405);
                if (r.status() == 404) assertThat(body.get("message").asString()).as(what).isNotEqualTo("Not Found");
            }
        }
    }

    static void collectRefs(JsonNode n, List<String> out) {
        if (n.isObject()) {
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                if (e.getKey().equals("$ref")) out.add(e.getValue().asString());
                else collectRefs(e.getValue(), out);
            }
        } else if (n.isArray()) {
            for (JsonNode e : n) collectRefs(e, out);
        }
    }

    @Test
    void versionRobotsAndBootstrapDns() throws Exception {
        HttpResponse<String> v = get("/version");
        assertThat(v.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(v.body()).get("version").asString()).isNotEmpty();
        assertThat(get("/robots.txt").body()).startsWith("User-agent: *\nDisallow: /");
        // The embedded region's node is the server URL's host, 127.0.0.1.
        server.bootstrapDns().refresh();
        HttpResponse<String> b = get("/bootstrap-dns");
        assertThat(b.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(b.body()).get("127.0.0.1").get(0).asString()).isEqualTo("127.0.0.1");
        assertThat(b.body()).as("tab-indented as derper's").isEqualTo("{\n\t\"127.0.0.1\": [\n\t\t\"127.0.0.1\"\n\t]\n}");
        assertThat(get("/bootstrap-dns?q=127.0.0.1").body()).isEqualTo(b.body());
    }

    @Test
    void withoutTheEmbeddedDerpThereIsNoBootstrapDns() throws Exception {
        server.close();
        server = ControlServer.start(dev.lattice.control.config.ControlConfig.parse(TestServer.yaml(dir, TestServer.freePort(), false), dir));
        assertThat(get("/bootstrap-dns").statusCode()).isEqualTo(404);
    }
}
