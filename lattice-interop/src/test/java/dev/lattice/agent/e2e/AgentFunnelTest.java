package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.control.interop.Pebble;
import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Nat;
import dev.lattice.testlab.NatLab;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Funnel end to end on a small internet: lattice-control (with its authoritative DNS) on the server, the ingress
 * (latticed tagged {@code tag:funnel-ingress}, {@code --funnel-listen :443}) on a public host, and h1 behind a NAT
 * with no inbound port open, with Pebble on its loopback for its certificate. The policy's {@code nodeAttrs} give
 * members {@code funnel}; no ACL lets the ingress reach h1. After {@code lattice funnel --bg 8080} on h1, a host on
 * the internet that is no tailnet node resolves {@code h1.tailnet.test} through lattice-control's DNS (the ingress's
 * address) and fetches {@code https://h1.tailnet.test/} with curl verifying against Pebble's root: TLS ends on h1,
 * the backend sees the Funnel marker and the client's address, and no tailnet identity. A name without Funnel gets
 * its connection closed, and so does h1 once Funnel is off. Skipped (visibly) without Pebble.
 */
@Tag("netns")
@Timeout(300)
class AgentFunnelTest {
    static final String POLICY = """
            {
              "tagOwners": {"tag:funnel-ingress": ["alice@"]},
              "nodeAttrs": [{"target": ["autogroup:member"], "attr": ["funnel"]}],
              "acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:member:*"]}],
            }
            """;

    /** One A query for argv[1] to argv[2]:53, printing each answer's address (no dig in the lab). */
    static final String RESOLVE = """
            import socket, struct, sys
            q = struct.pack(">HHHHHH", 0x1234, 0, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in sys.argv[1].split(".")) + b"\\0" + struct.pack(">HH", 1, 1)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.sendto(q, (sys.argv[2], 53))
            r = s.recv(4096); an = struct.unpack(">H", r[6:8])[0]; p = 12
            while r[p]: p += r[p] + 1
            p += 5
            for _ in range(an):
                p += 2 if r[p] & 0xc0 == 0xc0 else 0
                t, c, ttl, n = struct.unpack(">HHIH", r[p:p + 10]); p += 10
                if t == 1: print(".".join(str(b) for b in r[p:p + n]))
                p += n
            print("rcode", r[3] & 15)
            """;

    @Test
    void aStrangerFetchesTheFunneledSiteThroughTheIngressWithVerifiedHttps() throws Exception {
        run(TailnetNode.lattice());
    }

    /**
     * The same with official tailscaled and {@code tailscale funnel} on h1 behind the NAT: Lattice's ingress speaks
     * tailscale's own ingress protocol to tailscaled's peer API. Skipped (visibly) without the official binaries.
     */
    @Test
    void officialTailscaleFunnelIsReachableThroughLatticesIngress() throws Exception {
        run(TailnetNode.official());
    }

    /** A sample's value in Prometheus text. */
    static double counter(String text, String sample) {
        return text.lines().filter(l -> l.startsWith(sample + " ")).mapToDouble(l -> Double.parseDouble(l.substring(sample.length() + 1)))
                .findFirst().orElseThrow(() -> new AssertionError("no " + sample + " in:\n" + text));
    }

    void run(TailnetNode.Binaries h1Bins) throws Exception {
        Pebble.Install pebbleInstall = Pebble.install();
        TailnetNode.Binaries bins = TailnetNode.lattice();
        boolean official = h1Bins.kind() == TailnetNode.Kind.OFFICIAL;
        try (NatLab net = NatLab.builder().site("h1", Nat.ENDPOINT_INDEPENDENT).publicHost("ingress").publicHost("outside").build()) {
            Lab lab = net.lab();
            Host server = net.server(), h1 = net.site("h1").host(), ingressHost = net.publicHost("ingress"),
                    outside = net.publicHost("outside");
            String ingressIp = net.address(ingressHost), outsideIp = net.address(outside), dnsIp = NatLab.SERVER;
            Path ctlDir = lab.workDir().resolve("ctl");
            Files.createDirectories(ctlDir);
            Files.writeString(ctlDir.resolve("policy.hujson"), POLICY);
            String dns = """
                      certificates: true
                      authoritative:
                        listen_addr: %s:53
                        ns: [ns1.example.net]
                    """.formatted(dnsIp);
            String extra = """
                    policy:
                      mode: file
                      path: %s
                    funnel:
                      ingress_tag: tag:funnel-ingress
                      addresses: [%s]
                    """.formatted(ctlDir.resolve("policy.hujson"), ingressIp);
            try (ControlServerProcess ctl = ControlServerProcess.start(server, NatLab.SERVER, ctlDir, extra, dns);
                 // tailscale's ACME client needs the Location header Pebble leaves out (see Pebble)
                 Pebble pebble = Pebble.start(pebbleInstall, h1, lab.workDir().resolve("pebble"), dnsIp + ":53", official)) {
                ctl.admin("users", "create", "alice");
                String key = ctl.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--expiration", "1h");
                String url = ControlServerProcess.serverUrl(NatLab.SERVER);
                // The server_url (and so the DERP) is plain HTTP: tailscaled needs telling.
                Map<String, String> acme = Map.of("TS_DEBUG_ACME_DIRECTORY_URL", Pebble.directoryUrl(),
                        "SSL_CERT_FILE", pebbleInstall.minicaRoot().toString(), "TS_DEBUG_USE_DERP_HTTP", "1");
                BackgroundProcess echo = h1.spawn("echo-http", Map.of(), List.of("/usr/bin/python3", "-c", AgentServeTest.ECHO));
                try (TailnetNode a = TailnetNode.start(h1Bins, h1, lab.workDir().resolve("h1"), acme);
                     TailnetNode in = TailnetNode.start(bins, ingressHost, lab.workDir().resolve("ingress"), Map.of(),
                             List.of("--funnel-listen=:443", "--funnel-listen=:8443"))) {
                    assertThat(a.up(url, key, "h1").ok()).as(() -> "h1 up\n" + a.daemon.tail(60)).isTrue();
                    ExecResult inUp = in.up(url, key, "ingress", "--advertise-tags=tag:funnel-ingress");
                    assertThat(inUp.ok()).as(() -> inUp.describe() + "\n" + in.daemon.tail(60)).isTrue();
                    assertThat(in.peerHostNames()).as("no ACL connects a tagged ingress to members").doesNotContain("h1");

                    ExecResult cert = a.cli(Duration.ofSeconds(120), "cert", "--cert-file", lab.workDir().resolve("h1/out.crt").toString(),
                            "--key-file", lab.workDir().resolve("h1/out.key").toString(), "h1.tailnet.test");
                    assertThat(cert.ok()).as(() -> cert.describe() + "\n" + a.daemon.tail(60)).isTrue();

                    ExecResult funnel = a.cli(Duration.ofSeconds(30), "funnel", "--bg", "8080");
                    assertThat(funnel.ok()).as(() -> funnel.describe() + "\n" + a.daemon.tail(40)).isTrue();
                    assertThat(funnel.stdout()).startsWith("Available on the internet:").contains("https://h1.tailnet.test/");
                    String status = a.cli(Duration.ofSeconds(20), "funnel", "status").stdout();
                    // the same text from tailscale and lattice: the "# Funnel on:" section, then the tree
                    assertThat(status).isEqualTo("\n# Funnel on:\n#     - https://h1.tailnet.test\n\n"
                            + "https://h1.tailnet.test (Funnel on)\n|-- / proxy http://127.0.0.1:8080\n\n");
                    in.await("h1 is the ingress's peer", Duration.ofSeconds(30), n -> n.peerHostNames().contains("h1"));

                    // public DNS: the Funnel name is the ingress; other names do not exist
                    assertThat(resolve(outside, "h1.tailnet.test", dnsIp)).containsExactly(ingressIp, "rcode 0");
                    assertThat(resolve(outside, "ingress.tailnet.test", dnsIp)).containsExactly("rcode 3");

                    Path root = lab.workDir().resolve("pebble-root.pem");
                    X509Certificate r = pebble.root();
                    Files.writeString(root, "-----BEGIN CERTIFICATE-----\n"
                            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(r.getEncoded())
                            + "\n-----END CERTIFICATE-----\n");
                    Instant t0 = Instant.now();
                    String page = fetch(outside, root, "h1.tailnet.test", ingressIp, Duration.ofSeconds(90),
                            () -> "h1:\n" + a.daemon.tail(60) + "\ningress:\n" + in.daemon.tail(60));
                    long ms = Duration.between(t0, Instant.now()).toMillis();
                    assertThat(page).as(() -> page + "\nh1:\n" + a.daemon.tail(60)).contains("path=/hello?x=1\n")
                            .contains("Tailscale-Funnel-Request: ?1")
                            .contains("X-Forwarded-For: " + outsideIp)
                            .contains("X-Forwarded-Proto: https")
                            .doesNotContain("Tailscale-User-Login")
                            .doesNotContain("mallory");
                    System.out.println("[e2e] a stranger fetched https://h1.tailnet.test/hello through the Funnel ingress (h1: "
                            + (official ? "official tailscaled" : "latticed") + " behind NAT), verified against Pebble's root, in " + ms + " ms");

                    // bulk: a 64 MiB file from a directory funneled on 8443, for a throughput figure
                    Path site = lab.workDir().resolve("site");
                    Files.createDirectories(site);
                    byte[] chunk = new byte[1 << 20];
                    new java.util.Random(1).nextBytes(chunk);
                    try (var o = Files.newOutputStream(site.resolve("big.bin"))) {
                        for (int i = 0; i < 64; i++) o.write(chunk);
                    }
                    ExecResult dir = a.cli(Duration.ofSeconds(30), "funnel", "--bg", "--https=8443", site.toString());
                    assertThat(dir.ok()).as(dir::describe).isTrue();
                    ExecResult bulk = null;
                    for (int i = 0; i < 20 && (bulk == null || !bulk.ok()); i++) {
                        if (i > 0) Lab.sleep(Duration.ofSeconds(1));
                        bulk = outside.exec(Duration.ofSeconds(90), "curl", "-sS", "--fail", "--max-time", "80", "--cacert", root.toString(),
                                "--resolve", "h1.tailnet.test:8443:" + ingressIp, "-o", "/dev/null", "-w", "%{size_download} %{speed_download}",
                                "https://h1.tailnet.test:8443/big.bin");
                    }
                    ExecResult got = bulk;
                    assertThat(got.ok()).as(got::describe).isTrue();
                    String[] sizeSpeed = got.stdout().trim().split(" ");
                    assertThat(Long.parseLong(sizeSpeed[0])).isEqualTo(64L << 20);
                    System.out.printf("[e2e] 64 MiB through the Funnel ingress (h1: %s): %.1f MB/s%n",
                            official ? "official tailscaled" : "latticed", Double.parseDouble(sizeSpeed[1]) / 1e6);
                    assertThat(a.cli(Duration.ofSeconds(20), "funnel", "--https=8443", "off").ok()).isTrue();

                    // the ingress closes names that have no Funnel, without a certificate of any kind
                    for (String other : List.of("ingress.tailnet.test", "nobody.tailnet.test")) {
                        ExecResult closed = curl(outside, root, other, ingressIp);
                        assertThat(closed.ok()).as(closed::describe).isFalse();
                        assertThat(closed.stderr()).as(closed::describe).doesNotContain("certificate");
                    }

                    // the ingress's metrics count what it did: the page and the file handed over, the other names closed
                    ExecResult metrics = ingressHost.exec(Duration.ofSeconds(20), "curl", "-sS", "--unix-socket",
                            in.socket.toString(), "http://local-tailscaled.sock/localapi/v0/usermetrics");
                    assertThat(metrics.ok()).as(metrics::describe).isTrue();
                    assertThat(counter(metrics.stdout(), "latticed_funnel_ingress_connections_total{result=\"accepted\"}"))
                            .as(metrics.stdout()).isGreaterThanOrEqualTo(2);
                    assertThat(counter(metrics.stdout(), "latticed_funnel_ingress_connections_total{result=\"no_funnel\"}"))
                            .isGreaterThanOrEqualTo(2);
                    assertThat(counter(metrics.stdout(), "latticed_funnel_ingress_bytes_total{direction=\"to_visitors\"}"))
                            .isGreaterThan(64L << 20);

                    // Funnel off: h1 refuses, the ingress loses it, the name is gone
                    assertThat(a.cli(Duration.ofSeconds(20), "funnel", "--https=443", "off").ok()).isTrue();
                    in.await("h1 is no longer the ingress's peer", Duration.ofSeconds(30), n -> !n.peerHostNames().contains("h1"));
                    assertThat(curl(outside, root, "h1.tailnet.test", ingressIp).ok()).isFalse();
                    // (NODATA rather than NXDOMAIN: h1's challenge record of a minute ago still makes its name exist)
                    assertThat(resolve(outside, "h1.tailnet.test", dnsIp)).doesNotContain(ingressIp).contains("rcode 0");
                } finally {
                    echo.stop(Duration.ofSeconds(5));
                }
            }
        }
    }

    static List<String> resolve(Host h, String name, String server) {
        ExecResult r = h.exec(Duration.ofSeconds(10), "/usr/bin/python3", "-c", RESOLVE, name, server);
        assertThat(r.ok()).as(r::describe).isTrue();
        return r.stdout().lines().toList();
    }

    static ExecResult curl(Host h, Path root, String name, String ip) {
        return h.exec(Duration.ofSeconds(20), "curl", "-sS", "--fail", "--max-time", "15", "--cacert", root.toString(),
                "--resolve", name + ":443:" + ip, "-H", "Tailscale-User-Login: mallory@example.com",
                "https://" + name + "/hello?x=1");
    }

    /** curl until it answers (the peers, the tunnel through the NAT and the handshake need a moment). */
    static String fetch(Host h, Path root, String name, String ip, Duration timeout, java.util.function.Supplier<String> logs) {
        Instant end = Instant.now().plus(timeout);
        ExecResult last = null;
        while (Instant.now().isBefore(end)) {
            last = curl(h, root, name, ip);
            if (last.ok()) return last.stdout();
            Lab.sleep(Duration.ofSeconds(1));
        }
        throw new AssertionError("fetching https://" + name + "/ from " + h.name() + " failed: "
                + (last == null ? "" : last.describe()) + "\n" + logs.get());
    }
}
