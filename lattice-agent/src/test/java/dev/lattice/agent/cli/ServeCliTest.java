package dev.lattice.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.localapi.FakeBackend;
import dev.lattice.agent.localapi.LocalApiClient;
import dev.lattice.agent.localapi.LocalApiException;
import dev.lattice.agent.serve.ServeConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lattice serve} against the local API of a fake backend: what it stores, prints and refuses. */
class ServeCliTest {
    @TempDir
    Path dir;
    FakeDaemon daemon;
    FakeBackend backend;

    @BeforeEach
    void start() throws Exception {
        daemon = new FakeDaemon(dir);
        backend = daemon.backend;
    }

    @AfterEach
    void stop() {
        daemon.close();
    }

    LatticeCli.Result run(String... args) {
        return daemon.run(args);
    }

    @Test
    void bgPortServesHttpsOnTheNodesNameAsTailscaleStoresIt() {
        var r = run("serve", "--bg", "8080");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(new String(backend.serve.toJson(), StandardCharsets.UTF_8)).isEqualTo(
                "{\"TCP\":{\"443\":{\"HTTPS\":true}},\"Web\":{\"me.tail.example:443\":{\"Handlers\":{\"/\":{\"Proxy\":\"http://127.0.0.1:8080\"}}}}}");
        assertThat(r.out()).contains("https://me.tail.example/\n|-- proxy http://127.0.0.1:8080")
                .contains("To disable the proxy, run: lattice serve --https=443 off");
    }

    /** tailscale's serve_v2_test accept-app-caps cases: stored on the proxy handler, malformed names refused. */
    @Test
    void acceptAppCapsAreStoredOnTheProxyAsTailscaleStoresThem() {
        var r = run("serve", "--bg", "--accept-app-caps=example.com/cap/foo,example.com/cap/bar", "3000");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(new String(backend.serve.toJson(), StandardCharsets.UTF_8)).isEqualTo(
                "{\"TCP\":{\"443\":{\"HTTPS\":true}},\"Web\":{\"me.tail.example:443\":{\"Handlers\":{\"/\":{\"Proxy\":"
                        + "\"http://127.0.0.1:3000\",\"AcceptAppCaps\":[\"example.com/cap/foo\",\"example.com/cap/bar\"]}}}}}");
        var before = backend.serve;
        var bad = run("serve", "--bg", "--accept-app-caps=example.com/cap/fine,NOTFINE", "3000");
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("\"NOTFINE\" does not match the form {domain}/{name}");
        assertThat(backend.serve).isEqualTo(before);
    }

    @Test
    void statusShowsWhatIsServedAndJsonIsTheConfig() {
        assertThat(run("serve", "status").out()).isEqualTo("No serve config\n");
        assertThat(run("serve", "--bg", "--http=80", "text:hello").code()).isZero();
        assertThat(run("serve", "--bg", "--tcp=5432", "localhost:5432").code()).isZero();
        assertThat(run("serve", "status").out()).isEqualTo(
                """
                |-- tcp://me.tail.example:5432 (tailnet only)
                |-- tcp://100.64.0.1:5432
                |-- tcp://[fd7a:115c:a1e0::1]:5432
                |--> tcp://localhost:5432

                http://me (tailnet only)
                http://me.tail.example (tailnet only)
                |-- / text  "hello"

                """);
        // mounts by length, padded; text cut at 20 characters as tailscale cuts it
        assertThat(run("serve", "--bg", "--http=80", "--set-path=/docs", "text:a text longer than twenty").code()).isZero();
        assertThat(run("serve", "status").out()).endsWith("""
                http://me.tail.example (tailnet only)
                |-- /     text  "hello"
                |-- /docs text  "a text longer tha..."

                """);
        String json = run("serve", "status", "--json").out();
        assertThat(json).contains("\"TCP\": {").contains("\"HTTP\": true").contains("\"TCPForward\": \"localhost:5432\"");
    }

    @Test
    void offRemovesThePortAndResetRemovesEverything() {
        run("serve", "--bg", "3000");
        run("serve", "--bg", "--http=8080", "http://127.0.0.1:9000/api");
        var r = run("serve", "--https=443", "off");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(backend.serve.tcp()).containsOnlyKeys(8080);
        assertThat(backend.serve.web()).containsOnlyKeys("me.tail.example:8080");
        assertThat(run("serve", "--https=443", "off").err()).contains("handler does not exist");
        assertThat(run("serve", "reset").code()).isZero();
        assertThat(backend.serve).isEqualTo(ServeConfig.EMPTY);
    }

    @Test
    void badTargetsAndFlagsGetOneLineAndChangeNothing() {
        for (String[] args : new String[][] {
            {"serve", "--bg", "example.com:80"}, {"serve", "--bg", "99999"}, {"serve", "--bg", "ftp://127.0.0.1:21"},
            {"serve", "--bg", "--tcp=22", "http://127.0.0.1:22"}, {"serve", "--bg", "--http=80", "--tcp=80", "80"},
            {"serve", "--bg"}, {"serve", "--bg", "--https=70000", "80"},
        }) {
            var r = run(args);
            assertThat(r.code()).as(String.join(" ", args)).isNotZero();
            assertThat(r.err().strip()).as(String.join(" ", args)).isNotEmpty().doesNotContain("\n").doesNotContain("Exception");
        }
        assertThat(backend.serve).isEqualTo(ServeConfig.EMPTY);
        run("serve", "--bg", "--tcp=443", "443");
        var r = run("serve", "--bg", "8080");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("port 443 is already serving TCP");
    }

    @Test
    void helpWorks() {
        var r = run("serve", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("--https").contains("--bg").contains("status").contains("reset").contains("text:TEXT");
    }

    @Test
    void theLocalApiRefusesAStaleEtag() throws Exception {
        LocalApiClient c = new LocalApiClient(daemon.server.path());
        var before = c.serveConfig();
        assertThat(before.config()).isEqualTo(ServeConfig.EMPTY);
        assertThat(before.etag()).hasSize(64);
        run("serve", "--bg", "3000");
        ServeConfig mine = ServeConfig.parse("{\"TCP\":{\"80\":{\"HTTP\":true}},\"Web\":{\"a:80\":{\"Handlers\":{\"/\":{\"Text\":\"x\"}}}}}"
                .getBytes(StandardCharsets.UTF_8));
        try {
            c.setServeConfig(mine, before.etag());
            throw new AssertionError("a stale ETag was accepted");
        } catch (LocalApiException e) {
            assertThat(e.getMessage()).contains("etag mismatch");
        }
        var now = c.serveConfig();
        assertThat(now.etag()).isEqualTo(backend.serve.etag()).isNotEqualTo(before.etag());
        c.setServeConfig(mine, now.etag());
        assertThat(backend.serve).isEqualTo(mine);
    }
}
