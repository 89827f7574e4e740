package dev.lattice.agent.localapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.agent.ipn.BackendException;
import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.ipn.PingResult;
import dev.lattice.agent.ipn.Status;
import dev.lattice.agent.ipn.UpRequest;
import dev.lattice.agent.ipn.UpResult;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DERPRegion;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local API over a real unix socket: paths, JSON, errors, permissions, and the socket file's life cycle. */
class LocalApiServerTest {
    @TempDir
    Path dir;
    FakeBackend backend;
    LocalApiServer server;
    LocalApiClient client;

    @BeforeEach
    void start() throws IOException {
        backend = new FakeBackend();
        server = LocalApiServer.start(dir.resolve("run/latticed.sock"), backend,
                LocalApiServer.Options.defaults().withDerpMap(() -> new DERPMap(null,
                        Map.of(900, new DERPRegion(900, "lab", "Lab", null, null, null, null, List.of())), null)));
        client = new LocalApiClient(server.path());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    static String exchange(Path sock, String request) throws IOException {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
            c.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.ISO_8859_1)));
            ByteBuffer b = ByteBuffer.allocate(1 << 16);
            while (c.read(b) >= 0 && b.hasRemaining()) {
                // until the server closes (Connection: close)
            }
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void socketIsWorldWritableLikeTailscaledsAndLeavesNoTempDirs() throws Exception {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(server.path()))).isEqualTo("rw-rw-rw-");
        try (var s = Files.list(server.path().getParent())) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("latticed.sock");
        }
    }

    @Test
    void statusUsesTailscalesJsonNames() throws Exception {
        String r = exchange(server.path(), "GET /localapi/v0/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(r).startsWith("HTTP/1.1 200 OK").contains("application/json")
                .contains("\"BackendState\":\"Running\"").contains("\"TailscaleIPs\":[\"100.64.0.1\"");
        Status st = client.status();
        assertThat(st.backendState()).isEqualTo(BackendState.Running);
        assertThat(st.self().hostName()).isEqualTo("me");
        assertThat(st.user().get("1").loginName()).isEqualTo("alice@example.com");
    }

    /** Prometheus and its JVM collectors are loaded for the first scrape, not by an idle daemon. */
    @Test
    void userMetricsAreMadeAtTheFirstScrape() throws Exception {
        java.util.concurrent.atomic.AtomicInteger made = new java.util.concurrent.atomic.AtomicInteger();
        dev.lattice.metrics.Metrics m = new dev.lattice.metrics.Metrics();
        m.gauge("lazy_test", "a gauge", () -> 7);
        try (LocalApiServer s = LocalApiServer.start(dir.resolve("m.sock"), backend,
                LocalApiServer.Options.defaults().withUserMetrics(() -> {
                    made.incrementAndGet();
                    return m;
                }))) {
            exchange(s.path(), "GET /localapi/v0/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertThat(made).hasValue(0);
            String r = exchange(s.path(), "GET /localapi/v0/usermetrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertThat(r).startsWith("HTTP/1.1 200 OK").contains("lazy_test 7");
            assertThat(made).hasValue(1);
        }
    }

    @Test
    void upPassesTheRequestAndReturnsTheAuthUrl() throws Exception {
        backend.upResult = new UpResult(BackendState.NeedsLogin, "http://ctl/register/abc");
        UpResult r = client.up(new UpRequest("http://ctl", null, "box", List.of("tag:a"), true, false, true));
        assertThat(r).isEqualTo(new UpResult(BackendState.NeedsLogin, "http://ctl/register/abc"));
        assertThat(backend.ups).containsExactly(new UpRequest("http://ctl", null, "box", List.of("tag:a"), true, false, true));
    }

    @Test
    void backendErrorsKeepTheirStatusAndMessage() {
        assertThatThrownBy(() -> client.up(new UpRequest(null, "bad", null, null, null, null, false)))
                .isInstanceOfSatisfying(LocalApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(401);
                    assertThat(e.getMessage()).isEqualTo("invalid key: bad");
                });
        assertThatThrownBy(() -> client.whois("100.64.9.9"))
                .isInstanceOfSatisfying(LocalApiException.class, e -> assertThat(e.status()).isEqualTo(404));
    }

    @Test
    void wrongMethodsUnknownPathsAndBadBodiesAreJsonErrors() throws Exception {
        assertThat(exchange(server.path(), "GET /localapi/v0/up HTTP/1.1\r\nConnection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 405").endsWith("{\"error\":\"want POST\"}");
        assertThat(exchange(server.path(), "POST /localapi/v0/status HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
                .startsWith("HTTP/1.1 405").endsWith("{\"error\":\"want GET\"}");
        assertThat(exchange(server.path(), "GET /localapi/v0/nope HTTP/1.1\r\nConnection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 404").endsWith("{\"error\":\"not found\"}");
        assertThat(exchange(server.path(), "POST /localapi/v0/up HTTP/1.1\r\nConnection: close\r\nContent-Length: 5\r\n\r\n[1,2]"))
                .startsWith("HTTP/1.1 400").endsWith("{\"error\":\"request body must be a JSON object\"}");
        assertThat(exchange(server.path(), "POST /localapi/v0/up HTTP/1.1\r\nConnection: close\r\nContent-Length: 3\r\n\r\n{x:"))
                .startsWith("HTTP/1.1 400").endsWith("{\"error\":\"malformed JSON body\"}");
        assertThat(exchange(server.path(), "POST /localapi/v0/ping?ip=1.2.3.4&timeout=abc HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
                .startsWith("HTTP/1.1 400").contains("timeout");
        for (String wait : List.of("abc", "-1", "")) {
            assertThat(exchange(server.path(), "POST /localapi/v0/up?wait=" + wait + " HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"))
                    .startsWith("HTTP/1.1 400").endsWith("{\"error\":\"invalid 'wait' parameter: want milliseconds\"}");
        }
        assertThat(exchange(server.path(), "GET /localapi/v0/whois HTTP/1.1\r\nConnection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 400").endsWith("{\"error\":\"missing 'addr' parameter\"}");
        assertThat(exchange(server.path(), "garbage\r\n\r\n")).startsWith("HTTP/1.1 400");
        assertThat(backend.calls).doesNotContain("up");
    }

    @Test
    void pingTimeoutIsEnforcedByTheServerEvenIfTheBackendHangs() throws Exception {
        backend.pings.add(Duration.ofSeconds(30));
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> client.ping("100.64.0.2", Duration.ofMillis(200)))
                .isInstanceOfSatisfying(LocalApiException.class, e -> assertThat(e.status()).isEqualTo(504));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        backend.pings.add(new PingResult("100.64.0.2", "100.64.0.2", "peer", null, 0.002, "10.0.0.2:41641", 0, null));
        assertThat(client.ping("100.64.0.2", Duration.ofSeconds(3)).endpoint()).isEqualTo("10.0.0.2:41641");
        assertThat(backend.calls).contains("ping 100.64.0.2 3000");
    }

    @Test
    void versionAndDerpMap() throws Exception {
        assertThat(client.version()).isEqualTo("1.2.3-test");
        assertThat(client.derpMap().regions().get(900).regionCode()).isEqualTo("lab");
    }

    @Test
    void mutatingCallsNeedThePeerPolicyButReadsDoNot() throws Exception {
        Path sock = dir.resolve("ro.sock");
        var seen = new java.util.concurrent.atomic.AtomicReference<String>();
        try (LocalApiServer ro = LocalApiServer.start(sock, backend, LocalApiServer.Options.defaults().withMayWrite(p -> {
            seen.set(p == null ? null : p.user().getName());
            return false;
        }))) {
            LocalApiClient c = new LocalApiClient(sock);
            assertThat(c.status().backendState()).isEqualTo(BackendState.Running);
            assertThatThrownBy(c::down).isInstanceOfSatisfying(LocalApiException.class, e -> {
                assertThat(e.status()).isEqualTo(403);
                assertThat(e.getMessage()).startsWith("access denied");
            });
            assertThat(backend.calls).doesNotContain("down");
            // a certificate's private key is for the daemon's user too, as tailscaled's cert access
            backend.certs.put("me.tail.example", new dev.lattice.agent.cert.CertPair("CERT", "KEY"));
            assertThatThrownBy(() -> c.certPair("me.tail.example")).isInstanceOfSatisfying(LocalApiException.class,
                    e -> assertThat(e.status()).isEqualTo(403));
            assertThatThrownBy(() -> c.setDns("_acme-challenge.me.tail.example", "v"))
                    .isInstanceOfSatisfying(LocalApiException.class, e -> assertThat(e.status()).isEqualTo(403));
            assertThat(backend.calls).doesNotContain("cert me.tail.example");
            assertThat(backend.setDnsCalls).isEmpty();
        }
        // SO_PEERCRED works on the Netty domain channel: the policy saw who we are.
        assertThat(seen.get()).isEqualTo(System.getProperty("user.name"));
        assertThat(LocalApiServer.rootOrSelf(null)).isFalse();
        client.down(); // the default policy lets the daemon's own user in
        assertThat(backend.state).isEqualTo(BackendState.Stopped);
    }

    @Test
    void certAnswersTailscalesPemTypesAndSetDnsPassesTheServersRefusalOn() throws Exception {
        backend.certs.put("me.tail.example", new dev.lattice.agent.cert.CertPair("-----BEGIN CERTIFICATE-----\nC\n",
                "-----BEGIN EC PRIVATE KEY-----\nK\n"));
        assertThat(client.certPair("me.tail.example")).isEqualTo("-----BEGIN EC PRIVATE KEY-----\nK\n-----BEGIN CERTIFICATE-----\nC\n");
        var raw = client.exchange("GET", "/localapi/v0/cert/me.tail.example?type=key", new byte[0], Duration.ofSeconds(5));
        assertThat(new String(raw.body(), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("-----BEGIN EC PRIVATE KEY-----\nK\n");
        raw = client.exchange("GET", "/localapi/v0/cert/me.tail.example", new byte[0], Duration.ofSeconds(5));
        assertThat(new String(raw.body(), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("-----BEGIN CERTIFICATE-----\nC\n");
        assertThat(client.exchange("GET", "/localapi/v0/cert/me.tail.example?type=der", new byte[0], Duration.ofSeconds(5))
                .status()).isEqualTo(400);
        assertThat(client.exchange("POST", "/localapi/v0/cert/me.tail.example", new byte[0], Duration.ofSeconds(5))
                .status()).isEqualTo(405);
        assertThatThrownBy(() -> client.certPair("other.tail.example")).isInstanceOfSatisfying(LocalApiException.class, e -> {
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.getMessage()).startsWith("invalid domain \"other.tail.example\"");
        });

        client.setDns("_acme-challenge.me.tail.example", "v1");
        assertThatThrownBy(() -> client.setDns("_acme-challenge.peer.tail.example", "v2"))
                .isInstanceOfSatisfying(LocalApiException.class, e -> assertThat(e.getMessage()).contains("403"));
        assertThat(backend.setDnsCalls).containsExactly("_acme-challenge.me.tail.example=v1", "_acme-challenge.peer.tail.example=v2");
    }

    @Test
    void aSecondServerIsRefusedAStaleSocketReplacedAndARegularFileKept() throws Exception {
        assertThatThrownBy(() -> LocalApiServer.start(server.path(), backend))
                .isInstanceOf(IOException.class).hasMessageContaining("already listening");
        Path stale = dir.resolve("stale.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(stale)); // closed without unlinking, like a killed daemon
        }
        try (LocalApiServer s = LocalApiServer.start(stale, backend)) {
            assertThat(new LocalApiClient(stale).status().backendState()).isEqualTo(BackendState.Running);
        }
        assertThat(stale).doesNotExist();
        Path file = Files.writeString(dir.resolve("file.sock"), "precious");
        assertThatThrownBy(() -> LocalApiServer.start(file, backend)).hasMessageContaining("not a socket");
        assertThat(Files.readString(file)).isEqualTo("precious");
    }

    @Test
    void aMissingDaemonIsReportedLikeTailscale() throws Exception {
        Path none = dir.resolve("none.sock");
        assertThatThrownBy(() -> new LocalApiClient(none).status())
                .isInstanceOfSatisfying(LocalApiException.class, e -> {
                    assertThat(e.notRunning()).isTrue();
                    assertThat(e.getMessage()).isEqualTo(
                            "failed to connect to local latticed; it doesn't appear to be running (socket " + none + ")");
                });
        Path stale = dir.resolve("refused.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(stale));
        }
        assertThatThrownBy(() -> new LocalApiClient(stale).status())
                .isInstanceOfSatisfying(LocalApiException.class, e -> assertThat(e.notRunning()).isTrue());
    }

    @Test
    void backendExceptionsOutsideTheErrorRangeBecome500() {
        assertThat(LocalApiRoutes.error(200, "x").status()).isEqualTo(500);
        assertThat(new BackendException(409, "conflict").status()).isEqualTo(409);
    }
}
