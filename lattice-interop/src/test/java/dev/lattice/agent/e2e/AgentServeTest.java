package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.CertLab;
import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.control.interop.Pebble;
import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code lattice serve} end to end: latticed on h1 gets its certificate from Pebble (through lattice-control's
 * DNS), serves HTTPS on its tailnet address in front of a small HTTP server on its loopback, and a peer fetches
 * {@code https://h1.tailnet.test/} with the certificate verified against Pebble's root, seeing the answer and the
 * identity headers naming its user (and not the ones it tried to send itself). {@code serve status} shows the
 * config, and a restarted latticed serves it again. Skipped (visibly) without Pebble.
 */
@Tag("netns")
@Timeout(300)
class AgentServeTest {
    /** Answers every GET with its path and request headers, one "Name: value" a line. */
    static final String ECHO = """
            import http.server
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    b = ("path=" + self.path + "\\n" + "".join(k + ": " + v + "\\n" for k, v in self.headers.items())).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(b)))
                    self.end_headers()
                    self.wfile.write(b)
            http.server.HTTPServer(("127.0.0.1", 8080), H).serve_forever()
            """;

    @Test
    void aPeerFetchesTheServedSiteOverVerifiedHttpsWithItsIdentity() throws Exception {
        Pebble.Install pebbleInstall = Pebble.install();
        TailnetNode.Binaries bins = TailnetNode.lattice();
        try (CertLab c = CertLab.start(pebbleInstall, 79, false)) {
            Lab lab = c.lab;
            Host h1 = c.h1, h2 = c.h2;
            ControlServerProcess server = c.server;
            Pebble pebble = c.pebble;
            server.admin("users", "create", "alice");
            server.admin("users", "create", "bob");
            String keyA = server.admin("preauthkeys", "create", "--user", "alice", "--expiration", "1h");
            String keyB = server.admin("preauthkeys", "create", "--user", "bob", "--expiration", "1h");
            String url = ControlServerProcess.serverUrl(server.ip);
            Map<String, String> env = Map.of("TS_DEBUG_ACME_DIRECTORY_URL", Pebble.directoryUrl(),
                    "SSL_CERT_FILE", pebbleInstall.minicaRoot().toString());
            BackgroundProcess echo = h1.spawn("echo-http", Map.of(), List.of("/usr/bin/python3", "-c", ECHO));
            try (TailnetNode a = TailnetNode.start(bins, h1, lab.workDir().resolve("h1"), env);
                 TailnetNode b = TailnetNode.start(bins, h2, lab.workDir().resolve("h2"), env)) {
                assertThat(a.up(url, keyA, "h1").ok()).as(() -> "h1 up\n" + a.daemon.tail(60)).isTrue();
                assertThat(b.up(url, keyB, "h2").ok()).as(() -> "h2 up\n" + b.daemon.tail(60)).isTrue();
                String ipA = a.ipv4();

                ExecResult cert = a.cli(Duration.ofSeconds(120), "cert", "--cert-file", lab.workDir().resolve("h1/out.crt").toString(),
                        "--key-file", lab.workDir().resolve("h1/out.key").toString(), "h1.tailnet.test");
                assertThat(cert.ok()).as(() -> cert.describe() + "\n" + a.daemon.tail(60)).isTrue();

                ExecResult bad = a.cli(Duration.ofSeconds(20), "serve", "--bg", "example.com:8080");
                assertThat(bad.ok()).isFalse();
                assertThat(bad.stderr().strip()).contains("only localhost or 127.0.0.1").doesNotContain("\n");

                ExecResult serve = a.cli(Duration.ofSeconds(30), "serve", "--bg", "8080");
                assertThat(serve.ok()).as(serve::describe).isTrue();
                assertThat(serve.stdout()).contains("https://h1.tailnet.test/").contains("|-- proxy http://127.0.0.1:8080");

                Path root = lab.workDir().resolve("pebble-root.pem");
                X509Certificate r = pebble.root();
                Files.writeString(root, "-----BEGIN CERTIFICATE-----\n"
                        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(r.getEncoded())
                        + "\n-----END CERTIFICATE-----\n");
                String page = fetch(h2, root, ipA, Duration.ofSeconds(60));
                assertThat(page).as(() -> page + "\nh1:\n" + a.daemon.tail(60)).contains("path=/hello?x=1\n")
                        .contains("Tailscale-User-Login: bob")
                        .contains("Tailscale-Headers-Info: https://tailscale.com/s/serve-headers")
                        .contains("X-Forwarded-Proto: https")
                        .contains("X-Forwarded-For: " + b.ipv4())
                        .doesNotContain("mallory");
                System.out.println("[e2e] h2 fetched https://h1.tailnet.test/hello through lattice serve, verified against Pebble's root:\n"
                        + page.lines().filter(l -> l.startsWith("Tailscale-")).reduce("", (x, y) -> x + "  " + y + "\n"));

                ExecResult status = a.cli(Duration.ofSeconds(20), "serve", "status");
                assertThat(status.stdout()).as(status::describe)
                        .isEqualTo("https://h1.tailnet.test (tailnet only)\n|-- / proxy http://127.0.0.1:8080\n\n");

                a.restartDaemon();
                a.await("running again", Duration.ofSeconds(60), n -> n.status().path("BackendState").asString().equals("Running"));
                assertThat(a.cli(Duration.ofSeconds(20), "serve", "status").stdout()).isEqualTo(status.stdout());
                String again = fetch(h2, root, ipA, Duration.ofSeconds(60));
                assertThat(again).contains("path=/hello?x=1\n").contains("Tailscale-User-Login: bob");

                assertThat(a.cli(Duration.ofSeconds(20), "serve", "--https=443", "off").ok()).isTrue();
                assertThat(a.cli(Duration.ofSeconds(20), "serve", "status").stdout()).isEqualTo("No serve config\n");
            } finally {
                echo.stop(Duration.ofSeconds(5));
            }
        }
    }

    /**
     * Official tailscaled on h1 with {@code tailscale serve --bg 8080} against lattice-control: it fetches its
     * certificate from Pebble on the first handshake, and latticed on h2 (bob) sees the site over verified HTTPS
     * with the identity headers tailscaled builds from lattice-control's whois data. Skipped (visibly) without the
     * official binaries or Pebble.
     */
    @Test
    void officialTailscaleServeIsReachedFromALatticePeerWithLatticeControlsIdentity() throws Exception {
        TailnetNode.Binaries official = TailnetNode.official();
        Pebble.Install pebbleInstall = Pebble.install();
        TailnetNode.Binaries bins = TailnetNode.lattice();
        // tailscale's ACME client needs the Location header Pebble leaves out (the finalize shim, see Pebble)
        try (CertLab c = CertLab.start(pebbleInstall, 81, true)) {
            Lab lab = c.lab;
            Host h1 = c.h1, h2 = c.h2;
            ControlServerProcess server = c.server;
            server.admin("users", "create", "alice");
            server.admin("users", "create", "bob");
            String keyA = server.admin("preauthkeys", "create", "--user", "alice", "--expiration", "1h");
            String keyB = server.admin("preauthkeys", "create", "--user", "bob", "--expiration", "1h");
            String url = ControlServerProcess.serverUrl(server.ip);
            Map<String, String> env = Map.of("TS_DEBUG_ACME_DIRECTORY_URL", Pebble.directoryUrl(),
                    "SSL_CERT_FILE", pebbleInstall.minicaRoot().toString());
            BackgroundProcess echo = h1.spawn("echo-http", Map.of(), List.of("/usr/bin/python3", "-c", ECHO));
            try (TailnetNode a = TailnetNode.start(official, h1, lab.workDir().resolve("h1"), env);
                 TailnetNode b = TailnetNode.start(bins, h2, lab.workDir().resolve("h2"), env)) {
                assertThat(a.up(url, keyA, "h1").ok()).as(() -> "h1 up\n" + a.daemon.tail(60)).isTrue();
                assertThat(b.up(url, keyB, "h2").ok()).as(() -> "h2 up\n" + b.daemon.tail(60)).isTrue();
                String ipA = a.ipv4(), ipB = b.ipv4();

                ExecResult serve = a.cli(Duration.ofSeconds(30), "serve", "--bg", "8080");
                assertThat(serve.ok()).as(() -> serve.describe() + "\n" + a.daemon.tail(40)).isTrue();
                assertThat(serve.stdout()).contains("https://h1.tailnet.test/").contains("|-- proxy http://127.0.0.1:8080");

                // what tailscaled knows of bob, from lattice-control's netmap
                a.await("h2 is h1's peer", Duration.ofSeconds(30), n -> n.peerHostNames().contains("h2"));
                ExecResult whois = a.cli(Duration.ofSeconds(20), "whois", "--json", ipB);
                assertThat(whois.ok()).as(whois::describe).isTrue();
                JsonNode profile = JsonMapper.shared().readTree(whois.stdout()).path("UserProfile");
                String login = profile.path("LoginName").asString(), name = profile.path("DisplayName").asString();
                assertThat(login).as(whois::describe).startsWith("bob");

                Path root = lab.workDir().resolve("pebble-root.pem");
                Files.writeString(root, pem(c.pebble.root()));
                long start = System.nanoTime();
                String page = fetch(h2, root, ipA, Duration.ofSeconds(90));
                long ms = (System.nanoTime() - start) / 1_000_000;
                assertThat(page).as(() -> page + "\nh1:\n" + a.daemon.tail(60)).contains("path=/hello?x=1\n")
                        .contains("Tailscale-User-Login: " + login + "\n")
                        .contains("Tailscale-User-Name: " + name + "\n")
                        .contains("Tailscale-Headers-Info: https://tailscale.com/s/serve-headers")
                        .doesNotContain("mallory");
                // tailscale's serve status, the text lattice serve status prints for the same config (AgentServeTest)
                ExecResult status = a.cli(Duration.ofSeconds(20), "serve", "status");
                assertThat(status.stdout()).as(status::describe)
                        .isEqualTo("https://h1.tailnet.test (tailnet only)\n|-- / proxy http://127.0.0.1:8080\n\n");
                // with a TCP forward as well: the same commands on latticed h2 print the same text, names and addresses aside
                for (TailnetNode n : List.of(a, b)) {
                    ExecResult tcp = n.cli(Duration.ofSeconds(30), "serve", "--bg", "--tcp=5432", "5432");
                    assertThat(tcp.ok()).as(tcp::describe).isTrue();
                }
                assertThat(b.cli(Duration.ofSeconds(30), "serve", "--bg", "8080").ok()).isTrue();
                String theirs = a.cli(Duration.ofSeconds(20), "serve", "status").stdout();
                String ours = b.cli(Duration.ofSeconds(20), "serve", "status").stdout()
                        .replace("h2.tailnet.test", "h1.tailnet.test").replace(ipB + ":", ipA + ":")
                        .replace("[" + ip6(b) + "]", "[" + ip6(a) + "]");
                assertThat(theirs).startsWith("|-- tcp://h1.tailnet.test:5432 (tailnet only)\n|-- tcp://" + ipA + ":5432\n");
                assertThat(ours).isEqualTo(theirs);
                System.out.println("[interop] serve status, official and lattice alike:\n" + theirs);
                System.out.println("[interop] latticed h2 fetched https://h1.tailnet.test/hello through official tailscale serve "
                        + "(certificate issued on the first handshake, " + ms + " ms), verified against Pebble's root:\n"
                        + page.lines().filter(l -> l.startsWith("Tailscale-")).reduce("", (x, y) -> x + "  " + y + "\n"));
            } finally {
                echo.stop(Duration.ofSeconds(5));
            }
        }
    }

    static String ip6(TailnetNode n) {
        ExecResult r = n.cli(Duration.ofSeconds(15), "ip", "-6");
        assertThat(r.ok()).as(r::describe).isTrue();
        return r.stdout().strip();
    }

    static String pem(X509Certificate cert) throws java.security.cert.CertificateEncodingException {
        return "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(cert.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
    }

    /** curl from {@code h} until it answers (the listener, the tunnel and the handshake need a moment). */
    static String fetch(Host h, Path root, String ip, Duration timeout) {
        Instant end = Instant.now().plus(timeout);
        ExecResult last = null;
        while (Instant.now().isBefore(end)) {
            last = h.exec(Duration.ofSeconds(20), "curl", "-sS", "--fail", "--max-time", "15", "--cacert", root.toString(),
                    "--resolve", "h1.tailnet.test:443:" + ip, "-H", "Tailscale-User-Login: mallory@example.com",
                    "https://h1.tailnet.test/hello?x=1");
            if (last.ok()) return last.stdout();
            Lab.sleep(Duration.ofSeconds(1));
        }
        throw new AssertionError("fetching https://h1.tailnet.test/ from " + h.name() + " failed: " + (last == null ? "" : last.describe()));
    }
}
