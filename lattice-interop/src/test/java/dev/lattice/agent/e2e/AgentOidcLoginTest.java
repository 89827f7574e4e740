package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.control.interop.LabKeycloak;
import dev.lattice.control.interop.OidcBrowserLogin;
import dev.lattice.control.oidc.Keycloak;
import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Single sign-on end to end: Keycloak and lattice-control on one lab host (one of each for the class) and a latticed
 * peer joined with a pre-auth key. A client runs {@code up} without an auth key and a person opens the printed URL
 * on that device, signs in at Keycloak and confirms; the node is then registered to that person and reaches the peer.
 * latticed with a real browser (Debian's chromium driven by Selenium), the official tailscale client with the HTTP
 * browser. Skipped visibly without {@code LATTICE_KEYCLOAK_HOME}, chromium, or the official binaries.
 */
@Tag("netns")
@Timeout(600)
class AgentOidcLoginTest {
    static final Pattern AUTH_URL = Pattern.compile("(http://\\S+/register/\\S+)");
    /** Plain-HTTP server_url: official clients reach its DERP only with this (see AgentTailscaleInteropTest). */
    static final Map<String, String> ENV = Map.of("TS_DEBUG_USE_DERP_HTTP", "1");

    static Lab lab;
    static Switch lan;
    static LabKeycloak keycloak;
    static ControlServerProcess server;
    static TailnetNode peer;
    static String url;

    @BeforeAll
    static void tailnet() throws Exception {
        TailnetNode.Binaries bins = TailnetNode.lattice();
        Keycloak.home();
        lab = new Lab();
        lan = lab.newSwitch("lan");
        Host ctl = host("ctl", "10.81.0.1");
        keycloak = LabKeycloak.start(ctl, "10.81.0.1", 8180, lab.workDir().resolve("kc"));
        server = ControlServerProcess.start(ctl, "10.81.0.1", lab.workDir().resolve("ctl"), keycloak.oidcYaml());
        url = ControlServerProcess.serverUrl(server.ip);
        server.admin("users", "create", "ops");
        String key = server.admin("preauthkeys", "create", "--user", "ops", "--reusable", "--expiration", "1h");
        peer = TailnetNode.start(bins, host("h1", "10.81.0.11"), lab.workDir().resolve("h1"), ENV);
        ExecResult joined = peer.up(url, key, "h1");
        assertThat(joined.ok()).as(joined::describe).isTrue();
    }

    @AfterAll
    static void teardown() {
        if (peer != null) peer.close();
        if (server != null) server.close();
        if (keycloak != null) keycloak.close();
        if (lab != null) lab.close();
    }

    static Host host(String name, String ip) {
        Host h = lab.host(name);
        lan.connect(h);
        h.addAddress("eth0", ip + "/24");
        return h;
    }

    @Test
    void latticedJoinsThroughKeycloaksLoginPageInChromiumAndReachesAPeer() throws Exception {
        Assumptions.assumeTrue(OidcBrowserLogin.chromiumInstalled(),
                "chromium and chromium-driver (Debian packages) not installed: the real-browser OIDC test is skipped");
        TailnetNode.Binaries bins = TailnetNode.lattice();
        Host h2 = host("h2", "10.81.0.12");
        try (TailnetNode laptop = TailnetNode.start(bins, h2, lab.workDir().resolve("h2"), ENV)) {
            BackgroundProcess up = h2.spawn("lattice-up", Map.of(), List.of(bins.cli().toString(), "--socket=" + laptop.socket,
                    "up", "--login-server=" + url, "--hostname=alice-laptop", "--accept-dns=false", "--timeout=120s"));
            String authUrl = authUrl(up);

            // The person, on the device, in chromium.
            ExecResult login = browser(h2, "chromium", authUrl, "alice");
            assertThat(login.ok()).as(login::describe).isTrue();
            assertThat(login.stdout()).contains("LOGIN OK: Device registered");
            assertThat(up.waitFor(Duration.ofSeconds(30)))
                    .as(() -> "lattice up finished:\n" + up.output() + "\ndaemon log:\n" + laptop.daemon.tail(80)).hasValue(0);

            String users = server.admin("users", "list", "-o", "json");
            assertThat(users).contains("\"provider\": \"oidc\"").contains("alice@example.com").contains(keycloak.issuer() + "/");
            assertThat(server.admin("nodes", "list", "-o", "json")).contains("alice-laptop");
            assertThat(TailnetNode.icmp(h2, peer.ipv4(), Duration.ofSeconds(20))).as("ICMP alice-laptop -> h1 over the tailnet").isTrue();
            System.out.println("[oidc] latticed registered through Keycloak in chromium and reached its peer (Keycloak started in "
                    + keycloak.startTime.toMillis() + " ms)");
        }
    }

    @Test
    void theOfficialClientJoinsThroughKeycloakAndPingsAPeer() throws Exception {
        TailnetNode.Binaries official = TailnetNode.official();
        Host h3 = host("h3", "10.81.0.13");
        try (TailnetNode phone = TailnetNode.start(official, h3, lab.workDir().resolve("h3"), ENV)) {
            BackgroundProcess up = h3.spawn("tailscale-up", Map.of(), List.of(official.cli().toString(), "--socket=" + phone.socket,
                    "up", "--login-server=" + url, "--hostname=bob-phone", "--accept-dns=false", "--timeout=120s"));
            String authUrl = authUrl(up);
            ExecResult login = browser(h3, "http", authUrl, "bob");
            assertThat(login.ok()).as(login::describe).isTrue();
            assertThat(up.waitFor(Duration.ofSeconds(30))).as(() -> "tailscale up finished:\n" + up.output()).hasValue(0);
            assertThat(server.admin("users", "list", "-o", "json")).contains("bob@example.com");
            String target = peer.ipv4();
            ExecResult ping = phone.cli(Duration.ofSeconds(40), "ping", "--c", "10", "--timeout", "3s", target);
            assertThat(ping.ok() && ping.stdout().contains("pong from")).as(() -> "tailscale ping " + target + ":\n" + ping.describe()).isTrue();
            System.out.println("[oidc] official tailscale registered through Keycloak and pinged its peer: " + ping.stdout().strip());
        }
    }

    static String authUrl(BackgroundProcess up) {
        assertThat(up.waitForOutput("/register/", Duration.ofSeconds(30))).as(() -> "auth URL printed:\n" + up.output()).isTrue();
        Matcher m = AUTH_URL.matcher(up.output());
        assertThat(m.find()).as(up::output).isTrue();
        return m.group(1);
    }

    /** Runs {@link OidcBrowserLogin} in {@code host}'s network namespace, as its own JVM (this one cannot reach it). */
    static ExecResult browser(Host host, String mode, String authUrl, String user) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return host.exec(Duration.ofSeconds(200), null, Map.of("HOME", System.getProperty("java.io.tmpdir")),
                List.of(java, "-cp", System.getProperty("java.class.path"), OidcBrowserLogin.class.getName(), mode, authUrl, user, user + "-pw"));
    }
}
