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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The access policy end to end: three latticed hosts under a policy file (HuJSON, as copied from Tailscale's docs).
 * A one-way rule lets h1 (tag:client) reach h2's (tag:web) port 80 and not the reverse; h3 (alice's own) reaches
 * nothing and sees no peers. Retagging nodes with {@code nodes tag} grants and revokes access while everything
 * runs; the time until the data plane follows is measured and printed. {@link AgentPolicyOfficialTest} runs the
 * same {@link #scenario} with official tailscaled on some or all hosts.
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

    /**
     * The issue asks that a tag change flips access "within a second"; on a shared 2-core CI machine these bounds
     * leave room for load. Grant includes the first WireGuard handshake (a crossing-initiation retry is 5 s).
     */
    static final Duration GRANT_BOUND = Duration.ofSeconds(10), REVOKE_BOUND = Duration.ofSeconds(5);

    /** Official clients only accept a plain-HTTP DERP with this; latticed ignores it. */
    static final Map<String, String> ENV = Map.of("TS_DEBUG_USE_DERP_HTTP", "1");

    /**
     * One admin change and when the data plane followed: {@code seenAt} is a {@link System#nanoTime} (or -1 if never),
     * {@code fromStartMs} counts from the admin command's start, {@code afterMs} from its return.
     */
    record Step(long seenAt, long fromStartMs, long afterMs) {
        @Override
        public String toString() {
            return seenAt < 0 ? "never" : afterMs + " (" + fromStartMs + ")";
        }
    }

    record Timings(String label, Step cliGrant, Step cliRevoke, Step apiGrant, Step apiRevoke) {}

    @Test
    void oneWayRuleAndRetaggingFlipsAccessLive() throws Exception {
        TailnetNode.Binaries l = TailnetNode.lattice();
        scenario("h1 latticed, h2 latticed, h3 latticed", l, l, l);
    }

    /**
     * h1 joins as tag:client, h2 as tag:web (serving port 80), h3 untagged; checks the one-way rule, then, live,
     * grants (h3 becomes tag:client) and revokes (h1 becomes tag:web) with the admin CLI, and revokes (h3 to
     * tag:web) and grants (h1 back to tag:client) with the admin REST API, asserting each within
     * {@link #GRANT_BOUND} or {@link #REVOKE_BOUND} of the admin command returning, and printing the times.
     */
    static Timings scenario(String label, TailnetNode.Binaries b1, TailnetNode.Binaries b2, TailnetNode.Binaries b3)
            throws Exception {
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
                TailnetNode a = join(b1, hosts.get(0), lab, server, kClient, "h1");
                nodes.add(a);
                TailnetNode b = join(b2, hosts.get(1), lab, server, kWeb, "h2");
                nodes.add(b);
                TailnetNode c = join(b3, hosts.get(2), lab, server, kAlice, "h3");
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

                // Through the admin CLI, as the issue asks. Grant: h3 becomes a client.
                Step cliGrant = step(() -> server.admin("nodes", "tag", "-i", nodeId(server, "h3"), "-t", "tag:client"),
                        hosts.get(2), ipB, true);
                assertThat(cliGrant.seenAt()).as(() -> label + ": h3 (now tag:client) -> h2:80 within 20 s\nh3 status: "
                        + c.cli(Duration.ofSeconds(10), "status").output()).isPositive();
                // Revoke: h1 becomes a web server, which no rule lets reach another web server.
                Step cliRevoke = step(() -> server.admin("nodes", "tag", "-i", nodeId(server, "h1"), "-t", "tag:web"),
                        hosts.get(0), ipB, false);
                assertThat(cliRevoke.seenAt()).as(label + ": h1 (now tag:web) -> h2:80 refused within 20 s").isPositive();
                assertThat(tcp(hosts.get(2), ipB)).as("h3 -> h2:80 still allowed").isTrue();

                // The CLI is a JVM start and the change often lands before it has exited ("0 ms after"): the same
                // through the admin REST API on the unix socket (curl, milliseconds) times the server and client.
                String idH1 = nodeId(server, "h1"), idH3 = nodeId(server, "h3");
                Path sock = lab.workDir().resolve("ctl").resolve("control.sock");
                Step apiRevoke = step(() -> apiTags(ctl, sock, idH3, "tag:web"), hosts.get(2), ipB, false);
                assertThat(apiRevoke.seenAt()).as(label + ": h3 (now tag:web, by REST) -> h2:80 refused within 20 s").isPositive();
                Step apiGrant = step(() -> apiTags(ctl, sock, idH1, "tag:client"), hosts.get(0), ipB, true);
                assertThat(apiGrant.seenAt()).as(() -> label + ": h1 (tag:client again, by REST) -> h2:80 within 20 s\nh1 status: "
                        + a.cli(Duration.ofSeconds(10), "status").output()).isPositive();
                assertThat(tcp(hosts.get(2), ipB)).as("h3 -> h2:80 still refused").isFalse();

                Timings t = new Timings(label, cliGrant, cliRevoke, apiGrant, apiRevoke);
                System.out.println("[e2e] policy (" + label + "), ms after the admin command returned (ms from its start):"
                        + " CLI grant " + cliGrant + ", CLI revoke " + cliRevoke + "; REST grant " + apiGrant
                        + " (a re-grant: the peer comes back, with a new WireGuard handshake), REST revoke " + apiRevoke
                        + ". Grants include the first handshake; revokes are the start of the first refused connect.");
                for (Step s : List.of(cliGrant, apiGrant)) {
                    assertThat(Duration.ofMillis(s.afterMs())).as(label + ": grant after the admin command").isLessThan(GRANT_BOUND);
                }
                for (Step s : List.of(cliRevoke, apiRevoke)) {
                    assertThat(Duration.ofMillis(s.afterMs())).as(label + ": revoke after the admin command").isLessThan(REVOKE_BOUND);
                }
                return t;
            } finally {
                for (BackgroundProcess w : webs) w.stop(Duration.ofSeconds(2));
                for (TailnetNode n : nodes) n.close();
                server.close();
            }
        }
    }

    /** Starts a node of kind {@code bins} on {@code h} and brings it up with {@code key}; fails with both logs. */
    static TailnetNode join(TailnetNode.Binaries bins, Host h, Lab lab, ControlServerProcess server, String key,
            String name, String... extra) throws Exception {
        TailnetNode t = TailnetNode.start(bins, h, lab.workDir().resolve(name), ENV);
        ExecResult up = t.up(ControlServerProcess.serverUrl(server.ip), key, name, extra);
        if (!up.ok()) {
            String log = t.daemon.tail(80);
            t.close();
            throw new AssertionError(name + " (" + bins.kind() + "): up failed: " + up.describe() + "\ndaemon:\n" + log
                    + "\nserver:\n" + server.process.tail(40));
        }
        return t;
    }

    static BackgroundProcess web(Host h, String ip) {
        return h.spawn("web-" + h.name(), "python3", "-m", "http.server", "80", "--bind", ip);
    }

    /** One TCP connect to {@code ip}:80 from {@code h}, at most 1 s. */
    static boolean tcp(Host h, String ip) {
        return tcp(h, ip, "1");
    }

    static boolean tcp(Host h, String ip, String timeoutSeconds) {
        return h.exec(Duration.ofSeconds(5), "timeout", timeoutSeconds, "bash", "-c", "exec 3<>/dev/tcp/" + ip + "/80").ok();
    }

    static boolean awaitTcp(Host h, String ip, Duration within) {
        return awaitTcpState(h, ip, true, within) > 0;
    }

    /**
     * Probes {@code ip}:80 from {@code h} until it is reachable ({@code want}) or not; returns the {@link System#nanoTime}
     * the state was seen, or -1 after {@code within}.
     * Reachable: the moment the first connect succeeded, with a new connect started every {@link #PROBE_STEP} (each
     * allowed 1 s), so the flip is seen within a step whatever happened to earlier SYNs: one sent before the peer was
     * configured is lost silently where the whole tailnet range routes into the tunnel (latticed), while tailscaled
     * routes only known peers and fails such a connect at once; a probe that waited for the lost SYN would report
     * the probe's timeout, not the flip.
     * Unreachable: the start of the first of two failed connects (0.3 s each) in a row, an upper bound on when the
     * rule went.
     */
    static final String PROBE_TIMEOUT = "0.3";
    static final Duration PROBE_STEP = Duration.ofMillis(40);

    static long awaitTcpState(Host h, String ip, boolean want, Duration within) {
        return want ? awaitReachable(h, ip, within) : awaitUnreachable(h, ip, within);
    }

    private static long awaitReachable(Host h, String ip, Duration within) {
        long end = System.nanoTime() + within.toNanos();
        java.util.concurrent.atomic.AtomicLong seen = new java.util.concurrent.atomic.AtomicLong(-1);
        try (var probes = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            while (seen.get() < 0 && System.nanoTime() < end) {
                probes.submit(() -> {
                    if (tcp(h, ip, "1")) {
                        long t = System.nanoTime();
                        seen.accumulateAndGet(t, (a, b) -> a < 0 ? b : Math.min(a, b));
                    }
                });
                Lab.sleep(PROBE_STEP);
            }
        } // waits for the probes in flight: one of them may have succeeded earlier than the one that stopped the loop
        return seen.get();
    }

    private static long awaitUnreachable(Host h, String ip, Duration within) {
        long end = System.nanoTime() + within.toNanos();
        long firstFail = -1;
        do {
            long start = System.nanoTime();
            if (tcp(h, ip, PROBE_TIMEOUT)) {
                firstFail = -1;
            } else if (firstFail < 0) {
                firstFail = start;
            } else {
                return firstFail;
            }
            Lab.sleep(Duration.ofMillis(20));
        } while (System.nanoTime() < end);
        return -1;
    }

    /** Runs {@code admin}, then probes {@code ip}:80 from {@code h} until it is reachable ({@code want}) or not. */
    static Step step(Runnable admin, Host h, String ip, boolean want) {
        long start = System.nanoTime();
        admin.run();
        long done = System.nanoTime();
        long seen = awaitTcpState(h, ip, want, Duration.ofSeconds(20));
        return seen < 0 ? new Step(-1, -1, -1) : new Step(seen, ms(seen - start), ms(seen - done));
    }

    /** Sets a node's tags through the admin REST API on the server's unix socket (what the CLI does, minus a JVM). */
    static void apiTags(Host ctl, Path socket, String id, String tag) {
        ExecResult r = ctl.exec(Duration.ofSeconds(10), "curl", "-sf", "--unix-socket", socket.toString(), "-X", "POST",
                "-H", "Content-Type: application/json", "-d", "{\"tags\":[\"" + tag + "\"]}",
                "http://lattice-control/api/v1/node/" + id + "/tags");
        assertThat(r.ok()).as(() -> "POST node/" + id + "/tags: " + r.describe()).isTrue();
    }

    static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    static String nodeId(ControlServerProcess server, String hostname) {
        JsonNode list = JsonMapper.shared().readTree(server.admin("nodes", "list", "-o", "json"));
        for (JsonNode n : list) if (n.path("name").asString().equals(hostname)) return n.path("id").asString();
        throw new AssertionError("node " + hostname + " not listed: " + list);
    }

    /** The peer named {@code hostName} in {@code n}'s {@code status --json} (official and latticed alike). */
    static Optional<JsonNode> peer(TailnetNode n, String hostName) {
        for (JsonNode p : n.status().path("Peer")) if (p.path("HostName").asString().equals(hostName)) return Optional.of(p);
        return Optional.empty();
    }
}
