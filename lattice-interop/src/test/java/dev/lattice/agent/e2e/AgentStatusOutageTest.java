package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;

/**
 * {@code lattice status} when the control server is unreachable says so as {@code tailscale status} does (1.102,
 * checked against tailscaled and a stopped Headscale): a running node shows its own row offline and exits 0; a daemon
 * restarted meanwhile is in NoState with the failed login as a health warning, and status exits 1.
 */
@Tag("netns")
@Timeout(180)
class AgentStatusOutageTest {

    @Test
    void statusReportsALostControlServerAsTailscaleDoes() throws Exception {
        TailnetNode.Binaries bins = TailnetNode.lattice();
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl");
            lan.connect(ctl);
            ctl.addAddress("eth0", "10.79.0.1/24");
            Host h = lab.host("h1");
            lan.connect(h);
            h.addAddress("eth0", "10.79.0.11/24");
            ControlServerProcess server = ControlServerProcess.start(ctl, "10.79.0.1", lab.workDir().resolve("ctl"), "");
            TailnetNode node = null;
            try {
                server.admin("users", "create", "alice");
                String key = server.admin("preauthkeys", "create", "--user", "alice", "--expiration", "1h");
                node = AgentMeshTest.joined(bins, h, lab, server, key, "h1");
                TailnetNode n = node;
                String ip = n.ipv4();
                ExecResult up = n.cli(Duration.ofSeconds(15), "status");
                assertThat(up.exitCode()).as(up::describe).isZero();
                assertThat(up.stdout()).as(up::describe).startsWith(ip + "  h1").doesNotContain("offline").doesNotContain("# Health");
                assertThat(n.status().path("Health").isEmpty()).as("no warnings while connected").isTrue();

                // Control goes away: still Running, our own row offline (no map poll); the "out of sync" warning
                // would come after 8 minutes, as tailscale's.
                server.close();
                n.await("h1 notices control is gone", Duration.ofSeconds(30),
                        x -> !x.status().path("Self").path("Online").asBoolean(true));
                ExecResult lost = n.cli(Duration.ofSeconds(15), "status");
                assertThat(lost.exitCode()).as(lost::describe).isZero();
                assertThat(lost.stdout()).as(lost::describe).startsWith(ip + "  h1").contains("offline");
                assertThat(n.status().path("BackendState").asString()).isEqualTo("Running");

                // Restarted meanwhile: NoState, the failed login as health, exit 1.
                n.restartDaemon();
                String loginError = "You are logged out. The last login error was: fetch control key: GET "
                        + ControlServerProcess.serverUrl(server.ip) + "/key?v=";
                n.await("h1 reports the failed login", Duration.ofSeconds(30),
                        x -> x.status().path("Health").toString().contains(loginError));
                JsonNode st = n.status();
                assertThat(st.path("BackendState").asString()).isEqualTo("NoState");
                assertThat(st.path("Self").path("HostName").asString()).isEqualTo("h1");
                assertThat(st.path("Self").path("Online").asBoolean(true)).isFalse();
                ExecResult text = n.cli(Duration.ofSeconds(15), "status");
                assertThat(text.exitCode()).as(text::describe).isEqualTo(1);
                assertThat(text.stdout()).as(text::describe).startsWith("# Health check:\n#     - " + loginError)
                        .contains("connect: connection refused\n").endsWith("\n\nunexpected state: NoState\n");
                System.out.println("[e2e] status with control unreachable:\n" + text.stdout());
            } finally {
                if (node != null) node.close();
                server.close();
            }
        }
    }
}
