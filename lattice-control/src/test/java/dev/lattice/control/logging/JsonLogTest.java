package dev.lattice.control.logging;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.server.TestServer;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code log.format: json} on a real {@code lattice-control serve} process: every line it writes, on stdout and
 * stderr, is one JSON object with time, level, logger and message, and structured fields where the code gives
 * them. With {@code text} the same start writes plain lines.
 */
class JsonLogTest {
    @TempDir
    Path dir;

    static final JsonMapper JSON = JsonMapper.builder().build();

    record Output(List<String> out, List<String> err) {}

    /** Starts the server in its own JVM, pokes it, stops it (SIGTERM) and returns what it wrote. */
    Output serve(String format) throws Exception {
        int port = TestServer.freePort();
        Path cfg = dir.resolve("config.yaml");
        Files.writeString(cfg, TestServer.yaml(dir, port, true) + "log:\n  level: debug\n  format: " + format + "\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.lattice.control.cli.ControlCli",
                "-c", cfg.toString(), "serve")
                .redirectOutput(dir.resolve("out").toFile()).redirectError(dir.resolve("err").toFile()).start();
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            URI base = URI.create("http://127.0.0.1:" + port);
            for (int i = 0; i < 300; i++) {
                try {
                    if (http.send(HttpRequest.newBuilder(base.resolve("/health")).build(), HttpResponse.BodyHandlers.ofString())
                            .statusCode() == 200) break;
                } catch (java.io.IOException e) {
                    Thread.sleep(100);
                }
            }
            // Something worth a log line: a ts2021 request without its upgrade, and an unknown admin key.
            http.send(HttpRequest.newBuilder(base.resolve("/ts2021")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.discarding());
        } finally {
            p.destroy();
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        return new Output(Files.readAllLines(dir.resolve("out")), Files.readAllLines(dir.resolve("err")));
    }

    @Test
    void everyLineIsAJsonObject() throws Exception {
        Output o = serve("json");
        List<String> all = new ArrayList<>(o.out());
        all.addAll(o.err());
        assertThat(o.err()).as("a debug-level start says several things").hasSizeGreaterThan(5);
        List<JsonNode> lines = new ArrayList<>();
        for (String line : all) {
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (RuntimeException e) {
                throw new AssertionError("not JSON: " + line + "\nall output:\n" + String.join("\n", all), e);
            }
            assertThat(n.isObject()).as(line).isTrue();
            for (String field : List.of("time", "level", "logger", "message")) {
                assertThat(n.get(field)).as(field + " in " + line).isNotNull();
            }
            assertThat(n.get("level").asString()).isIn("trace", "debug", "info", "warn", "error");
            lines.add(n);
        }
        assertThat(lines).anySatisfy(n -> {
            assertThat(n.get("message").asString()).startsWith("lattice-control listening on");
            assertThat(n.get("addr").asString()).startsWith("127.0.0.1:");
            assertThat(n.get("logger").asString()).isEqualTo("dev.lattice.control.server.ControlServer");
        });
        assertThat(lines).as("the ts2021 request without an upgrade").anySatisfy(
                n -> assertThat(n.get("message").asString()).contains("without an Upgrade header"));
    }

    @Test
    void textStaysText() throws Exception {
        Output o = serve("text");
        assertThat(o.err()).anySatisfy(l -> assertThat(l).contains("lattice-control listening on 127.0.0.1:").doesNotStartWith("{"));
        assertThat(String.join("\n", o.out())).contains("To join a device:");
    }
}
