package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code up --authkey} with a key lattice-control refuses (expired, already used, unknown) fails at once with the
 * server's message, as {@code backend error: <message>} and exit code 1, instead of retrying until a timeout: for
 * latticed + lattice, and for the official tailscaled + tailscale (skipped visibly unless {@code LATTICE_TAILSCALED}
 * and {@code LATTICE_TAILSCALE} are set). Afterwards a good key still joins the same daemon.
 */
@Tag("netns")
@Timeout(300)
class AuthKeyRefusalTest {
    /** "Fails at once": well under the seconds a retrying client would spend, CLI start-up included. */
    static final Duration AT_ONCE = Duration.ofSeconds(5);

    @Test
    void latticeUpWithARefusedKeyFailsAtOnceWithTheServersMessage() throws Exception {
        refusedKeysFailAtOnce(TailnetNode.lattice());
    }

    @Test
    void officialTailscaleUpWithARefusedKeyFailsAtOnceWithTheServersMessage() throws Exception {
        refusedKeysFailAtOnce(TailnetNode.official());
    }

    record BadKey(String what, String key, String message) {}

    private static void refusedKeysFailAtOnce(TailnetNode.Binaries bins) throws Exception {
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl");
            lan.connect(ctl);
            ctl.addAddress("eth0", "10.84.0.1/24");
            Host h1 = lab.host("h1");
            Host h2 = lab.host("h2");
            lan.connect(h1);
            lan.connect(h2);
            h1.addAddress("eth0", "10.84.0.11/24");
            h2.addAddress("eth0", "10.84.0.12/24");
            try (ControlServerProcess server = ControlServerProcess.start(ctl, "10.84.0.1", lab.workDir().resolve("ctl"), "")) {
                String url = ControlServerProcess.serverUrl(server.ip);
                server.admin("users", "create", "alice");
                String expired = server.admin("preauthkeys", "create", "--user", "alice", "--expiration", "1h");
                server.admin("preauthkeys", "expire", expired);
                String used = server.admin("preauthkeys", "create", "--user", "alice", "--expiration", "1h");
                String unknown = "lattice-auth-" + "A".repeat(12) + "-" + "B".repeat(64);

                try (TailnetNode other = TailnetNode.start(bins, h2, lab.workDir().resolve("h2"));
                        TailnetNode node = TailnetNode.start(bins, h1, lab.workDir().resolve("h1"))) {
                    ExecResult spend = other.up(url, used, "h2");
                    assertThat(spend.ok()).as(() -> "h2 spends the single-use key: " + spend.describe()).isTrue();

                    for (BadKey bad : List.of(new BadKey("expired", expired, "authkey expired"),
                            new BadKey("used", used, "authkey already used"),
                            new BadKey("unknown", unknown, "invalid pre auth key"))) {
                        ExecResult up = node.cli(Duration.ofSeconds(40), "up", "--login-server=" + url,
                                "--authkey=" + bad.key(), "--hostname=h1", "--accept-dns=false", "--timeout=30s");
                        System.out.printf("[authkey] %s up --authkey=<%s>: exit %d after %d ms: %s%n", bins.kind(),
                                bad.what(), up.exitCode(), up.elapsed().toMillis(), up.stderr().strip());
                        assertThat(up.exitCode()).as(() -> bad.what() + ": " + up.describe() + "\ndaemon:\n"
                                + node.daemon.tail(40)).isEqualTo(1);
                        assertThat(up.stderr()).as(up::describe).contains("backend error: " + bad.message());
                        assertThat(up.elapsed()).as(() -> bad.what() + ": not retried until a timeout").isLessThan(AT_ONCE);
                    }

                    String good = server.admin("preauthkeys", "create", "--user", "alice", "--expiration", "1h");
                    ExecResult join = node.up(url, good, "h1");
                    assertThat(join.ok()).as(() -> "a good key still joins: " + join.describe() + "\ndaemon:\n"
                            + node.daemon.tail(40)).isTrue();
                    node.await("h1 running", Duration.ofSeconds(20),
                            n -> "Running".equals(n.status().path("BackendState").asString()));
                }
            }
        }
    }
}
