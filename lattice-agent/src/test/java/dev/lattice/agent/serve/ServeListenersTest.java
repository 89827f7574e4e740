package dev.lattice.agent.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.lattice.agent.cert.CertPair;
import dev.lattice.agent.cert.CertStore;
import dev.lattice.agent.peerapi.Peer;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.UserProfile;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.TreeMap;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.shredzone.acme4j.util.KeyPairUtils;

/** The serve listeners on loopback (standing in for a tailnet address) in front of a local echo server. */
class ServeListenersTest {
    static final String NAME = "node.tail.example";
    static final InetAddress LO = InetAddress.getLoopbackAddress();

    HttpServer backend;
    ServeListeners serve;
    volatile boolean known = true;
    volatile boolean tagged = false;
    volatile java.util.Map<String, List<tools.jackson.databind.JsonNode>> caps = java.util.Map.of();
    X509Certificate cert;
    CertPair pair;

    @BeforeEach
    void setUp() throws Exception {
        backend = HttpServer.create(new InetSocketAddress(LO, 0), 8);
        backend.createContext("/", ex -> {
            StringBuilder b = new StringBuilder("path=" + ex.getRequestURI() + "\n");
            byte[] in = ex.getRequestBody().readAllBytes();
            if (in.length > 0) b.append("method=").append(ex.getRequestMethod()).append(" body=").append(new String(in, StandardCharsets.UTF_8)).append('\n');
            new TreeMap<>(ex.getRequestHeaders()).forEach((k, v) -> b.append(k.toLowerCase()).append('=').append(String.join(",", v)).append('\n'));
            byte[] out = b.toString().getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, out.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(out);
            }
        });
        backend.start();
        new CertStore(Path.of("/nonexistent")); // registers BC
        KeyPair key = KeyPairUtils.createECKeyPair("secp256r1");
        X500Name n = new X500Name("CN=" + NAME);
        Instant now = Instant.now();
        var b = new JcaX509v3CertificateBuilder(n, BigInteger.ONE, Date.from(now.minusSeconds(60)), Date.from(now.plusSeconds(3600)), n, key.getPublic());
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, NAME)));
        cert = new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(cert);
        }
        StringWriter k = new StringWriter();
        KeyPairUtils.writeKeyPair(key, k);
        pair = new CertPair(w.toString(), k.toString());
        serve = new ServeListeners(new ServeListeners.Env() {
            @Override
            public Peer whois(InetSocketAddress remote) {
                if (!known) return null;
                Node node = Node.builder().id(2L).user(7L).name("laptop.tail.example.")
                        .tags(tagged ? List.of("tag:ci") : null)
                        .addresses(List.of(IpPrefix.parse("100.64.0.2/32"))).build();
                return new Peer(node, new UserProfile(7L, "alice@example.com", "Zoë", "https://pics/alice.png", null), remote, false);
            }

            @Override
            public java.util.Map<String, List<tools.jackson.databind.JsonNode>> peerCaps(InetSocketAddress remote) {
                return caps;
            }

            @Override
            public String certDomain() {
                return NAME;
            }

            @Override
            public CertPair cert(String domain) {
                return pair;
            }
        });
    }

    @AfterEach
    void tearDown() {
        serve.close();
        backend.stop(0);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, LO)) {
            return s.getLocalPort();
        }
    }

    int http, https, tcp;

    void configure() throws IOException {
        http = freePort();
        https = freePort();
        tcp = freePort();
        String be = "http://127.0.0.1:" + backend.getAddress().getPort();
        String json = "{\"TCP\":{\"" + http + "\":{\"HTTP\":true},\"" + https + "\":{\"HTTPS\":true},\"" + tcp
                + "\":{\"TCPForward\":\"127.0.0.1:" + backend.getAddress().getPort() + "\"}},\"Web\":{\"" + NAME + ":" + http
                + "\":{\"Handlers\":{\"/\":{\"Proxy\":\"" + be + "\"},\"/hi\":{\"Text\":\"hello from serve\\n\"}}},\"" + NAME + ":" + https
                + "\":{\"Handlers\":{\"/\":{\"Proxy\":\"" + be + "/base\"}}}}}";
        ServeConfig c = ServeConfig.parse(json.getBytes(StandardCharsets.UTF_8));
        ServeValidation.validate(c);
        serve.apply(c, List.of(LO));
        assertThat(serve.listeners()).isEqualTo(3);
    }

    static String exchange(Socket s, String request) throws IOException {
        s.setSoTimeout(10_000);
        OutputStream o = s.getOutputStream();
        o.write(request.getBytes(StandardCharsets.UTF_8));
        o.flush();
        InputStream in = s.getInputStream();
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    String get(int port, String path, String extraHeaders) throws IOException {
        try (Socket s = new Socket(LO, port)) {
            return exchange(s, "GET " + path + " HTTP/1.1\r\nHost: " + NAME + ":" + port + "\r\n" + extraHeaders + "Connection: close\r\n\r\n");
        }
    }

    @Test
    void proxiedRequestsCarryThePeersIdentityAndNotWhatTheClientClaimed() throws Exception {
        configure();
        String r = get(http, "/x?q=1", "Tailscale-User-Login: mallory@example.com\r\nTailscale-Funnel-Request: ?1\r\n");
        assertThat(r).startsWith("HTTP/1.1 200").contains("path=/x?q=1\n")
                .contains("tailscale-user-login=alice@example.com\n")
                .contains("tailscale-user-name==?utf-8?q?Zo=C3=AB?=\n")
                .contains("tailscale-user-profile-pic=https://pics/alice.png\n")
                .contains("tailscale-headers-info=https://tailscale.com/s/serve-headers\n")
                .contains("x-forwarded-for=127.0.0.1\n")
                .contains("host=" + NAME + ":" + http + "\n")
                .doesNotContain("mallory").doesNotContain("tailscale-funnel-request");
    }

    @Test
    void funnelConnectionsComeOnlyFromTheIngressAndCarryNoIdentity() throws Exception {
        http = freePort();
        String be = "http://127.0.0.1:" + backend.getAddress().getPort();
        String json = "{\"TCP\":{\"" + http + "\":{\"HTTP\":true}},\"Web\":{\"" + NAME + ":" + http
                + "\":{\"Handlers\":{\"/\":{\"Proxy\":\"" + be + "\"}}}},\"AllowFunnel\":{\"" + NAME + ":" + http + "\":true}}";
        ServeConfig c = ServeConfig.parse(json.getBytes(StandardCharsets.UTF_8));
        ServeValidation.validate(c);
        serve.apply(c, List.of(LO));
        assertThat(serve.listeners()).as("the tailnet listener and the Funnel one").isEqualTo(2);
        var ingress = serve.ingress();
        InetSocketAddress at = ingress.backend(NAME + ":" + http);
        assertThat(at).isNotNull();
        assertThat(at.getAddress().isLoopbackAddress()).isTrue();
        assertThat(ingress.backend("other.tail.example:" + http)).as("another name").isNull();
        assertThat(ingress.backend(NAME + ":" + freePort())).as("another port").isNull();

        String req = "GET /f HTTP/1.1\r\nHost: " + NAME + "\r\nTailscale-User-Login: mallory@example.com\r\nConnection: close\r\n\r\n";
        try (Socket s = new Socket(LO, at.getPort())) {
            assertThat(exchange(s, req)).as("a local process, not the ingress").startsWith("HTTP/1.1 403").contains("not a Funnel connection");
        }
        try (Socket s = new Socket(LO, at.getPort())) {
            InetSocketAddress visitor = new InetSocketAddress(InetAddress.getByName("203.0.113.9"), 5555);
            try (AutoCloseable reg = ingress.connected(s.getLocalPort(), visitor)) {
                assertThat(exchange(s, req)).startsWith("HTTP/1.1 200").contains("path=/f\n")
                        .contains("tailscale-funnel-request=?1\n")
                        .contains("x-forwarded-for=203.0.113.9\n")
                        .doesNotContain("tailscale-user-login").doesNotContain("mallory");
            }
        }
    }

    @Test
    void taggedPeersGetNoIdentityHeadersButSpoofedOnesAreStillRemoved() throws Exception {
        tagged = true;
        configure();
        String r = get(http, "/", "Tailscale-User-Login: mallory@example.com\r\n");
        assertThat(r).startsWith("HTTP/1.1 200").doesNotContain("tailscale-user-login").doesNotContain("mallory");
    }

    /** tailscale's addAppCapabilitiesHeader: the accepted capabilities the peer holds, with their values, as JSON. */
    @Test
    void acceptedAppCapabilitiesReachTheBackendAsJson() throws Exception {
        var json = tools.jackson.databind.json.JsonMapper.shared();
        caps = java.util.Map.of("example.com/cap/mon", List.of(json.readTree("{\"dashboards\":[\"*\"]}"), json.readTree("2")),
                "example.com/cap/admin", List.of(), "example.com/cap/other", List.of(json.readTree("true")));
        int port = freePort();
        String be = "http://127.0.0.1:" + backend.getAddress().getPort();
        ServeConfig c = ServeConfig.parse(("{\"TCP\":{\"" + port + "\":{\"HTTP\":true}},\"Web\":{\"" + NAME + ":" + port
                + "\":{\"Handlers\":{\"/\":{\"Proxy\":\"" + be + "\",\"AcceptAppCaps\":[\"example.com/cap/mon\",\"example.com/cap/admin\","
                + "\"example.com/cap/absent\"]},\"/plain\":{\"Proxy\":\"" + be + "\"}}}}}").getBytes(StandardCharsets.UTF_8));
        ServeValidation.validate(c);
        assertThat(new String(c.toJson(), StandardCharsets.UTF_8)).contains("\"AcceptAppCaps\":[\"example.com/cap/mon\"");
        serve.apply(c, List.of(LO));
        String spoof = "Tailscale-App-Capabilities: {\"example.com/cap/other\":[true]}\r\n";
        assertThat(get(port, "/", spoof)).startsWith("HTTP/1.1 200")
                .contains("\ntailscale-app-capabilities={\"example.com/cap/admin\":null,\"example.com/cap/mon\":[{\"dashboards\":[\"*\"]},2]}\n")
                .doesNotContain("cap/other");
        assertThat(get(port, "/plain", spoof)).startsWith("HTTP/1.1 200").doesNotContain("tailscale-app-capabilities");
    }

    /**
     * End to end but for the network: the capabilities come from a lattice-control policy with {@code app} grants,
     * compiled into this node's packet filter, sent as JSON, and read back as latticed reads its netmap.
     */
    @Test
    void appCapabilitiesGrantedByTheControlPolicyReachTheBackend() throws Exception {
        dev.lattice.control.store.User alice = new dev.lattice.control.store.User(7, "alice", "alice", "alice@example.com", "", null, null);
        dev.lattice.control.store.TailnetNode server = tailnetNode(1, null, "tag:server"), laptop = tailnetNode(2, 7L);
        var policy = dev.lattice.control.policy.PolicyParser.parse("""
                {"tagOwners": {"tag:server": ["alice@"]},
                 "grants": [
                   {"src": ["alice@"], "dst": ["tag:server"], "ip": ["tcp:443"],
                    "app": {"example.com/cap/mon": [{"dashboards": ["*"]}, 2], "example.com/cap/other": [true]}},
                   {"src": ["*"], "dst": ["tag:server"], "app": {"example.com/cap/admin": []}},
                   {"src": ["tag:server"], "dst": ["alice@"], "app": {"example.com/cap/reverse": [1]}},
                 ]}
                """).check(List.of(server, laptop), List.of(alice));
        var wire = dev.lattice.wire.tailcfg.Tailcfg.json();
        List<dev.lattice.wire.tailcfg.FilterRule> filter = wire.readValue(wire.writeValueAsBytes(policy.filterFor(server)),
                new tools.jackson.core.type.TypeReference<List<dev.lattice.wire.tailcfg.FilterRule>>() {});
        caps = dev.lattice.agent.filter.CapGrants.withValues(filter, InetAddress.getByName("100.64.0.2"),
                List.of(InetAddress.getByName("100.64.0.1"), InetAddress.getByName("fd7a:115c:a1e0::1")));
        assertThat(caps).containsOnlyKeys("example.com/cap/mon", "example.com/cap/other", "example.com/cap/admin");
        int port = freePort();
        String be = "http://127.0.0.1:" + backend.getAddress().getPort();
        ServeConfig c = ServeConfig.parse(("{\"TCP\":{\"" + port + "\":{\"HTTP\":true}},\"Web\":{\"" + NAME + ":" + port
                + "\":{\"Handlers\":{\"/\":{\"Proxy\":\"" + be + "\",\"AcceptAppCaps\":[\"example.com/cap/mon\",\"example.com/cap/admin\","
                + "\"example.com/cap/reverse\"]}}}}}").getBytes(StandardCharsets.UTF_8));
        ServeValidation.validate(c);
        serve.apply(c, List.of(LO));
        assertThat(get(port, "/", "")).startsWith("HTTP/1.1 200")
                .contains("\ntailscale-app-capabilities={\"example.com/cap/admin\":null,\"example.com/cap/mon\":[{\"dashboards\":[\"*\"]},2]}\n")
                .doesNotContain("cap/other").doesNotContain("cap/reverse");
    }

    /** A control-plane node at 100.64.0.id / fd7a:115c:a1e0::id, as lattice-control's policy tests make them. */
    static dev.lattice.control.store.TailnetNode tailnetNode(long id, Long userId, String... tags) throws Exception {
        String hex = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(("node " + id).getBytes(StandardCharsets.UTF_8)));
        return dev.lattice.control.store.TailnetNode.builder().id(id)
                .machineKey(dev.lattice.crypto.key.MachinePublicKey.fromHex(hex)).nodeKey(dev.lattice.crypto.key.NodePublicKey.fromHex(hex))
                .hostname("n" + id).givenName("n" + id).userId(userId)
                .addresses((java.net.Inet4Address) InetAddress.ofLiteral("100.64.0." + id), (java.net.Inet6Address) InetAddress.ofLiteral("fd7a:115c:a1e0::" + id))
                .tags(dev.lattice.control.store.NodeTags.of(tags)).build();
    }

    @Test
    void textAndLongestMountWin() throws Exception {
        configure();
        assertThat(get(http, "/hi", "")).startsWith("HTTP/1.1 200").endsWith("hello from serve\n");
        assertThat(get(http, "/hi/there", "")).endsWith("hello from serve\n");
        assertThat(get(http, "/hit", "")).contains("path=/hit\n");
    }

    @Test
    void httpsPresentsTheNodesCertificateAndProxiesToThePath() throws Exception {
        configure();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("ca", cert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(LO, https)) {
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(NAME)));
            p.setEndpointIdentificationAlgorithm("HTTPS"); // the name must verify, as a browser checks it
            s.setSSLParameters(p);
            String r = exchange(s, "GET /x HTTP/1.1\r\nHost: " + NAME + "\r\nConnection: close\r\n\r\n");
            assertThat(r).startsWith("HTTP/1.1 200").contains("path=/base/x\n").contains("x-forwarded-proto=https\n")
                    .contains("tailscale-user-login=alice@example.com\n");
        }
    }

    @Test
    void tcpForwardCopiesBytesBothWays() throws Exception {
        configure();
        try (Socket s = new Socket(LO, tcp)) {
            assertThat(exchange(s, "GET /raw HTTP/1.0\r\n\r\n")).startsWith("HTTP/1.1 200").contains("path=/raw\n")
                    .doesNotContain("tailscale-user-login");
        }
    }

    @Test
    void strangersAreTurnedAway() throws Exception {
        configure();
        known = false;
        assertThat(get(http, "/", "")).startsWith("HTTP/1.1 403");
        try (Socket s = new Socket(LO, tcp)) {
            assertThat(exchange(s, "GET / HTTP/1.0\r\n\r\n")).isEmpty();
        }
    }

    @Test
    void requestBodiesReachTheBackend() throws Exception {
        configure();
        try (Socket s = new Socket(LO, http)) {
            String r = exchange(s, "POST /submit HTTP/1.1\r\nHost: " + NAME + "\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello=world");
            assertThat(r).startsWith("HTTP/1.1 200").contains("method=POST body=hello=world\n");
        }
    }

    @Test
    void aDirectoryIsServedAndNothingAboveIt(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path site = java.nio.file.Files.createDirectories(dir.resolve("site"));
        java.nio.file.Files.writeString(site.resolve("index.html"), "<h1>home</h1>");
        java.nio.file.Files.writeString(dir.resolve("secret.txt"), "secret");
        int port = freePort();
        ServeConfig c = ServeConfig.parse(("{\"TCP\":{\"" + port + "\":{\"HTTP\":true}},\"Web\":{\"" + NAME + ":" + port
                + "\":{\"Handlers\":{\"/files\":{\"Path\":\"" + site + "\"}}}}}").getBytes(StandardCharsets.UTF_8));
        ServeValidation.validate(c);
        serve.apply(c, List.of(LO));
        assertThat(get(port, "/files/", "")).startsWith("HTTP/1.1 200").endsWith("<h1>home</h1>");
        assertThat(get(port, "/files/index.html", "")).endsWith("<h1>home</h1>");
        assertThat(get(port, "/files/../secret.txt", "")).startsWith("HTTP/1.1 403").doesNotEndWith("secret");
        assertThat(get(port, "/files/%2e%2e/secret.txt", "")).startsWith("HTTP/1.1 403").doesNotEndWith("secret");
        assertThat(get(port, "/other", "")).startsWith("HTTP/1.1 404");
    }

    @Test
    void aPortHeldByAnotherProgramIsBoundOnceItIsFree() throws Exception {
        int port = freePort();
        ServeConfig c = ServeConfig.parse(("{\"TCP\":{\"" + port + "\":{\"HTTP\":true}},\"Web\":{\"" + NAME + ":" + port
                + "\":{\"Handlers\":{\"/\":{\"Text\":\"up\"}}}}}").getBytes(StandardCharsets.UTF_8));
        try (ServerSocket squatter = new ServerSocket(port, 1, LO)) {
            serve.apply(c, List.of(LO));
            assertThat(serve.listeners()).isZero();
        }
        long end = System.nanoTime() + 10_000_000_000L;
        while (serve.listeners() == 0 && System.nanoTime() < end) Thread.sleep(100);
        assertThat(serve.listeners()).isEqualTo(1);
        assertThat(get(port, "/", "")).endsWith("up");
    }

    @Test
    void resettingClosesTheListeners() throws Exception {
        configure();
        serve.apply(ServeConfig.EMPTY, List.of(LO));
        assertThat(serve.listeners()).isZero();
        try (ServerSocket again = new ServerSocket(http, 1, LO)) {
            assertThat(again.getLocalPort()).isEqualTo(http);
        }
    }
}
