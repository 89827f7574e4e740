package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.nio.file.Files;
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
 * A Tailscale SSH {@code check} rule end to end: official tailscaled with {@code --ssh} on a server tagged
 * {@code tag:server}, OpenSSH from a latticed laptop. The first connection holds and shows lattice-control's login URL
 * in the SSH banner; {@code lattice-control auth approve} lets it in; a second connection within the rule's
 * checkPeriod goes straight in. Skipped visibly without LATTICE_TAILSCALED/LATTICE_TAILSCALE or an ssh client.
 */
@Tag("netns")
@Timeout(240)
class SshCheckOfficialTest {
    static final String POLICY = """
            {
              "tagOwners": {"tag:server": ["alice@"]},
              "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
              "ssh": [{"action": "check", "src": ["autogroup:member"], "dst": ["tag:server"], "users": ["root"], "checkPeriod": "1h"}],
            }
            """;
    static final Pattern AUTH_URL = Pattern.compile("/auth/([A-Za-z0-9]{24})");

    @Test
    void theFirstConnectionWaitsForTheApprovalTheNextGoesStraightIn() throws Exception {
        TailnetNode.Binaries official = TailnetNode.official(), lattice = TailnetNode.lattice();
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/ssh")), "no OpenSSH client (/usr/bin/ssh): skipped");
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = host(lab, lan, "ctl", "10.83.0.1"), h1 = host(lab, lan, "h1", "10.83.0.11"), h2 = host(lab, lan, "h2", "10.83.0.12");
            Path policy = lab.workDir().resolve("policy.hujson");
            Files.writeString(policy, POLICY);
            ControlServerProcess server = ControlServerProcess.start(ctl, "10.83.0.1", lab.workDir().resolve("ctl"),
                    "policy:\n  mode: file\n  path: " + policy + "\n");
            try (server) {
                server.admin("users", "create", "alice");
                String kServer = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--tags", "tag:server");
                String kAlice = server.admin("preauthkeys", "create", "--user", "alice", "--reusable");
                try (TailnetNode srv = AgentPolicyTest.join(official, h1, lab, server, kServer, "srv", "--ssh");
                     TailnetNode laptop = AgentPolicyTest.join(lattice, h2, lab, server, kAlice, "laptop")) {
                    laptop.await("srv in the laptop's peers", Duration.ofSeconds(20), n -> n.peerHostNames().contains("srv"));
                    String target = "root@" + srv.ipv4();

                    BackgroundProcess first = h2.spawn("ssh-1", Map.of(), ssh(target));
                    assertThat(first.waitForOutput("/auth/", Duration.ofSeconds(60)))
                            .as(() -> "the login URL in the SSH banner:\n" + first.output() + "\nserver:\n" + server.process.tail(30)).isTrue();
                    Matcher m = AUTH_URL.matcher(first.output());
                    assertThat(m.find()).as(first.output()).isTrue();
                    Thread.sleep(500);
                    assertThat(first.isAlive()).as("holds until the check is decided").isTrue();

                    server.admin("auth", "approve", "--auth-id", m.group(1));
                    assertThat(first.waitFor(Duration.ofSeconds(30))).as(first::output).hasValue(0);
                    assertThat(first.output()).contains("checked-in");

                    ExecResult second = h2.exec(Duration.ofSeconds(40), null, Map.of(), ssh(target));
                    assertThat(second.ok()).as(second::describe).isTrue();
                    assertThat(second.output()).contains("checked-in").doesNotContain("/auth/");
                    System.out.println("[ssh-check] official tailscaled --ssh held the first connection until `auth approve`,"
                            + " let the second in within the check period (" + second.elapsed().toMillis() + " ms)");
                }
            }
        }
    }

    static List<String> ssh(String target) {
        return List.of("/usr/bin/ssh", "-n", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=20", target, "echo checked-in");
    }

    static Host host(Lab lab, Switch lan, String name, String ip) {
        Host h = lab.host(name);
        lan.connect(h);
        h.addAddress("eth0", ip + "/24");
        return h;
    }
}
