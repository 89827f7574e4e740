package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The access policy end to end: three latticed hosts under a policy file (HuJSON, as copied from Tailscale's docs).
 * A one-way rule lets h1 (tag:client) reach h2's (tag:web) port 80 and not the reverse; h3 (alice's own) reaches
 * nothing and sees no peers. Retagging nodes with {@code nodes tag} grants and revokes access while everything
 * runs; the time until the data plane follows is measured and printed.
 */
@Tag("netns")
@Timeout(420)
class AgentPolicyTest {
    static final String POLICY = """
            {
              // Copied-from-the-docs style: comments and trailing commas are fine.
              "tagOwners": {
                "tag:client": ["alice@"],
                "tag:web": ["alice@"],
              },
              "acls": [
                {"action": "accept", "src": ["tag:client"], "dst": ["tag:web:80"]},
              ],
            }
            """;

    @Test
    void oneWayRuleAndRetaggingFlipsAccessLive() throws Exception {
        TailnetNode.Binaries bins = TailnetNode.lattice();
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl");
            lan.connect(ctl);
            ctl.addAddress("eth0", "10.79.0.1/24");
            List<Host> hosts = new ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                Host h = lab.host("h" + i);
                lan.connect(h);
                h.addAddress("eth0", "10.79.0." + (10 + i) + "/24");
                hosts.add(h);
            }
            Path policy = lab.workDir().resolve("policy.hujson");
            Files.writeString(policy, POLICY);
            ControlServerProcess server = ControlServerProcess.start(ctl, "10.79.0.1", lab.workDir().resolve("ctl"),
                    "policy:\n  mode: file\n  path: " + policy + "\n");
            List<TailnetNode> nodes = new ArrayList<>();
            List<BackgroundProcess> webs = new ArrayList<>();
            try {
                server.admin("users", "create", "alice");
                String kClient = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--tags", "tag:client");
                String kWeb = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--tags", "tag:web");
                String kAlice = server.admin("preauthkeys", "create", "--user", "alice", "--reusable");
                TailnetNode a = AgentMeshTest.joined(bins, hosts.get(0), lab, server, kClient, "h1");
                nodes.add(a);
                TailnetNode b = AgentMeshTest.joined(bins, hosts.get(1), lab, server, kWeb, "h2");
                nodes.add(b);
                TailnetNode c = AgentMeshTest.joined(bins, hosts.get(2), lab, server, kAlice, "h3");
                nodes.add(c);
                String ipA = a.ipv4(), ipB = b.ipv4(), ipC = c.ipv4();
                // A web server on every node's tailnet address: only the policy decides who gets through.
                webs.add(web(hosts.get(0), ipA));
                webs.add(web(hosts.get(1), ipB));
                webs.add(web(hosts.get(2), ipC));

                a.await("h2 in h1's peers", Duration.ofSeconds(20), n -> n.peerHostNames().contains("h2"));
                b.await("h1 in h2's peers", Duration.ofSeconds(20), n -> n.peerHostNames().contains("h1"));
                assertThat(awaitTcp(hosts.get(0), ipB, Duration.ofSeconds(20))).as("h1 (tag:client) -> h2:80").isTrue();
                assertThat(tcp(hosts.get(1), ipA)).as("h2 -> h1:80, the reverse of a one-way rule").isFalse();
                assertThat(c.peerHostNames()).as("h3 reaches nothing and nobody reaches it: no peers").isEmpty();
                assertThat(tcp(hosts.get(2), ipB)).as("h3 -> h2:80").isFalse();

                // Grant: h3 becomes a client.
                long t0 = System.nanoTime();
                server.admin("nodes", "tag", "-i", nodeId(server, "h3"), "-t", "tag:client");
                long t0done = System.nanoTime();
                assertThat(awaitTcp(hosts.get(2), ipB, Duration.ofSeconds(20))).as("h3 (now tag:client) -> h2:80").isTrue();
                long grantMs = (System.nanoTime() - t0) / 1_000_000, grantAfter = (System.nanoTime() - t0done) / 1_000_000;

                // Revoke: h1 becomes a web server, which no rule lets reach another web server.
                long t1 = System.nanoTime();
                server.admin("nodes", "tag", "-i", nodeId(server, "h1"), "-t", "tag:web");
                long t1done = System.nanoTime();
                boolean revoked = false;
                long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (System.nanoTime() < end && !(revoked = !tcp(hosts.get(0), ipB))) Lab.sleep(Duration.ofMillis(100));
                // The first refused connect has waited its 1 s timeout: take it off.
                long revokeMs = (System.nanoTime() - t1) / 1_000_000 - 1000, revokeAfter = (System.nanoTime() - t1done) / 1_000_000 - 1000;
                assertThat(revoked).as("h1 (now tag:web) -> h2:80 refused").isTrue();
                System.out.println("[e2e] policy: nodes tag granted access in " + grantMs + " ms (" + grantAfter
                        + " ms after the admin command returned; includes the first WireGuard handshake), revoked it in "
                        + revokeMs + " ms (" + revokeAfter + " ms after the command returned; the admin CLI is a JVM start)");
                assertThat(tcp(hosts.get(2), ipB)).as("h3 -> h2:80 still allowed").isTrue();
            } finally {
                for (BackgroundProcess w : webs) w.stop(Duration.ofSeconds(2));
                for (TailnetNode n : nodes) n.close();
                server.close();
            }
        }
    }

    static BackgroundProcess web(Host h, String ip) {
        return h.spawn("web-" + h.name(), "python3", "-m", "http.server", "80", "--bind", ip);
    }

    /** One TCP connect to {@code ip}:80 from {@code h}, at most 1 s. */
    static boolean tcp(Host h, String ip) {
        return h.exec(Duration.ofSeconds(5), "timeout", "1", "bash", "-c", "exec 3<>/dev/tcp/" + ip + "/80").ok();
    }

    static boolean awaitTcp(Host h, String ip, Duration within) {
        long end = System.nanoTime() + within.toNanos();
        do {
            if (tcp(h, ip)) return true;
            Lab.sleep(Duration.ofMillis(100));
        } while (System.nanoTime() < end);
        return false;
    }

    static String nodeId(ControlServerProcess server, String hostname) {
        JsonNode list = JsonMapper.shared().readTree(server.admin("nodes", "list", "-o", "json"));
        for (JsonNode n : list) if (n.path("name").asString().equals(hostname)) return n.path("id").asString();
        throw new AssertionError("node " + hostname + " not listed: " + list);
    }
}
