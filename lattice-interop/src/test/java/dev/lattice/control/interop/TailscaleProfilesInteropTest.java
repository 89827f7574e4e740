package dev.lattice.control.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Tailscale's fast user switching against lattice-control: one official client logs in as alice, then adds bob's
 * account ({@code tailscale login}), and switches back to alice without logging in again. The server keeps a node
 * per user on the machine, as Headscale v0.29 does; had bob's login taken alice's node, switching back would find
 * her profile logged out. Skipped (visibly) unless {@code LATTICE_TAILSCALED} and {@code LATTICE_TAILSCALE} are set.
 */
@Tag("netns")
@Timeout(240)
class TailscaleProfilesInteropTest {

    @Test
    void anOfficialClientSwitchesBetweenTwoUsersAccountsWithoutLoggingInAgain() throws Exception {
        OfficialTailscale.Binaries bins = OfficialTailscale.binaries();
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl");
            lan.connect(ctl);
            ctl.addAddress("eth0", "10.78.0.1/24");
            Host h = lab.host("h1");
            lan.connect(h);
            h.addAddress("eth0", "10.78.0.11/24");
            try (ControlServerProcess server = ControlServerProcess.start(ctl, "10.78.0.1", lab.workDir().resolve("ctl"), "")) {
                String url = ControlServerProcess.serverUrl(server.ip);
                server.admin("users", "create", "alice");
                server.admin("users", "create", "bob");
                String alicesKey = server.admin("preauthkeys", "create", "--user", "alice", "--expiration", "1h");
                String bobsKey = server.admin("preauthkeys", "create", "--user", "bob", "--expiration", "1h");
                try (OfficialTailscale t = OfficialTailscale.start(bins, h, lab.workDir().resolve("h1"))) {
                    ExecResult up = t.up(url, alicesKey, "h1");
                    assertThat(up.ok()).as(() -> "up as alice: " + up.describe() + "\n" + t.daemon.tail(40)).isTrue();
                    String alicesIp = t.ipv4();

                    ExecResult login = t.cli(Duration.ofSeconds(60), "login", "--login-server=" + url, "--authkey=" + bobsKey,
                            "--hostname=h1", "--accept-dns=false", "--timeout=50s");
                    assertThat(login.ok()).as(() -> "login as bob: " + login.describe() + "\n" + t.daemon.tail(40)).isTrue();
                    String bobsIp = t.ipv4();
                    assertThat(bobsIp).isNotEqualTo(alicesIp);
                    assertThat(owners(server)).as("a node per user on the machine").containsExactlyInAnyOrder("alice", "bob");

                    String alicesProfile = profileOf(t, "alice");
                    ExecResult sw = t.cli(Duration.ofSeconds(60), "switch", alicesProfile);
                    assertThat(sw.ok() && sw.stdout().contains("Success.")).as(() -> "switch back to alice without a login: "
                            + sw.describe() + "\ntailscaled:\n" + t.daemon.tail(40) + "\nserver:\n" + server.process.tail(30)).isTrue();
                    t.await("alice's address back", Duration.ofSeconds(20), x -> x.ipv4().equals(alicesIp));
                    assertThat(owners(server)).containsExactlyInAnyOrder("alice", "bob");
                    System.out.println("[interop] official client: alice " + alicesIp + " -> bob " + bobsIp
                            + " -> back to alice without a login");
                }
            }
        }
    }

    /** The users owning the server's nodes. */
    private static List<String> owners(ControlServerProcess server) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : JsonMapper.shared().readTree(server.admin("nodes", "list", "-o", "json"))) {
            out.add(n.path("user").path("name").asString());
        }
        return out;
    }

    /** The id of the local profile whose account is {@code user}'s, from {@code tailscale switch --list --json}. */
    private static String profileOf(OfficialTailscale t, String user) {
        ExecResult r = t.cli(Duration.ofSeconds(10), "switch", "--list", "--json");
        assertThat(r.ok()).as(r::describe).isTrue();
        for (JsonNode p : JsonMapper.shared().readTree(r.stdout())) {
            String account = p.path("account").asString();
            if (account.equals(user) || account.startsWith(user + "@")) return p.path("id").asString();
        }
        throw new AssertionError("no profile of " + user + " in " + r.stdout());
    }
}
