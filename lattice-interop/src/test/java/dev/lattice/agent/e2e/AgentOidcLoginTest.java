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
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Single sign-on end to end: Keycloak and lattice-control on one lab host; a latticed node (and, with the official
 * binaries, a tailscale client) runs {@code up} without an auth key, and a person opens the printed URL in a real
 * browser (Debian's chromium, driven by Selenium) on that device, signs in at Keycloak and confirms; the node is then
 * registered to that person and reaches a peer. Skipped visibly without {@code LATTICE_KEYCLOAK_HOME} or chromium.
 */
@Tag("netns")
@Timeout(600)
class AgentOidcLoginTest {
    static final Pattern AUTH_URL = Pattern.compile("(http://\\S+/register/\\S+)");

    @Test
    void aNodeJoinsThroughTheIdentityProvidersLoginPageInARealBrowserAndReachesAPeer() throws Exception {
        TailnetNode.Binaries bins = TailnetNode.lattice();
        Keycloak.home();
        Assumptions.assumeTrue(OidcBrowserLogin.chromiumInstalled(),
                "chromium and chromium-driver (Debian packages) not installed: the real-browser OIDC test is skipped");
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl");
            lan.connect(ctl);
            ctl.addAddress("eth0", "10.81.0.1/24");
            Host h1 = lab.host("h1"), h2 = lab.host("h2");
            lan.connect(h1);
            lan.connect(h2);
            h1.addAddress("eth0", "10.81.0.11/24");
            h2.addAddress("eth0", "10.81.0.12/24");
            try (LabKeycloak kc = LabKeycloak.start(ctl, "10.81.0.1", 8180, lab.workDir().resolve("kc"));
                 ControlServerProcess server = ControlServerProcess.start(ctl, "10.81.0.1", lab.workDir().resolve("ctl"), kc.oidcYaml())) {
                server.admin("users", "create", "ops");
                String key = server.admin("preauthkeys", "create", "--user", "ops", "--reusable", "--expiration", "1h");
                String url = ControlServerProcess.serverUrl(server.ip);
                try (TailnetNode peer = TailnetNode.start(bins, h1, lab.workDir().resolve("h1"));
                     TailnetNode laptop = TailnetNode.start(bins, h2, lab.workDir().resolve("h2"))) {
                    ExecResult joined = peer.up(url, key, "h1");
                    assertThat(joined.ok()).as(joined::describe).isTrue();

                    BackgroundProcess up = h2.spawn("lattice-up", Map.of(), List.of(bins.cli().toString(), "--socket=" + laptop.socket,
                            "up", "--login-server=" + url, "--hostname=alice-laptop", "--accept-dns=false", "--timeout=120s"));
                    assertThat(up.waitForOutput("/register/", Duration.ofSeconds(30))).as(() -> "auth URL printed:\n" + up.output()).isTrue();
                    Matcher m = AUTH_URL.matcher(up.output());
                    assertThat(m.find()).isTrue();

                    // The person, on the device, in chromium.
                    ExecResult login = browser(h2, "chromium", m.group(1), "alice");
                    assertThat(login.ok()).as(login::describe).isTrue();
                    assertThat(login.stdout()).contains("LOGIN OK: Device registered");
                    assertThat(up.waitFor(Duration.ofSeconds(30))).as(() -> "lattice up finished:\n" + up.output()).hasValue(0);

                    String users = server.admin("users", "list", "-o", "json");
                    assertThat(users).contains("\"provider\": \"oidc\"").contains("alice@example.com").contains(kc.issuer() + "/");
                    String nodes = server.admin("nodes", "list", "-o", "json");
                    assertThat(nodes).contains("alice-laptop");
                    assertThat(TailnetNode.icmp(h2, peer.ipv4(), Duration.ofSeconds(20))).as("ICMP alice-laptop -> h1 over the tailnet").isTrue();
                    System.out.println("[oidc] latticed registered through Keycloak in chromium and reached its peer; Keycloak start "
                            + kc.startTime.toMillis() + " ms");
                }
            }
        }
    }

    /** Runs {@link OidcBrowserLogin} in {@code host}'s network namespace as its own JVM. */
    static ExecResult browser(Host host, String mode, String url, String user) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return host.exec(Duration.ofSeconds(120), null, Map.of("HOME", System.getProperty("java.io.tmpdir")),
                List.of(java, "-cp", System.getProperty("java.class.path"), OidcBrowserLogin.class.getName(), mode, url, user, user + "-pw"));
    }
}
