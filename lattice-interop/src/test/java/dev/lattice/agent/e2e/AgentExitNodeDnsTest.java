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
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * DNS through the exit node (tailscale's exit-node DoH over the peer API). On one LAN: the control server, a DNS
 * host with two resolvers that answer {@code probe.example} differently (10.81.0.53: 192.0.2.53, the client's
 * host resolver; 10.81.0.54: 198.51.100.54, the exit node's), the exit node and the client. With MagicDNS on and no
 * exit node the client gets its own resolver's answer; with the exit node in use it gets the exit node's, asked by
 * the exit node (the .54 resolver sees only the exit node's LAN address), while tailnet names still resolve.
 *
 * <p>Both kinds of node offer an exit node with {@code up --advertise-exit-node} and pick one with
 * {@code set --exit-node=IP}. The official variants are skipped visibly unless LATTICE_TAILSCALED and
 * LATTICE_TAILSCALE are set.
 */
@Tag("netns")
@Timeout(300)
class AgentExitNodeDnsTest {
    static final String NAME = "probe.example", CLIENT_ANSWER = "192.0.2.53", EXIT_ANSWER = "198.51.100.54";
    static final String CLIENT_NS = "10.81.0.53", EXIT_NS = "10.81.0.54";
    static final String EXIT_LAN = "10.81.0.11", CLIENT_LAN = "10.81.0.12";
    static final Map<String, String> ENV = Map.of("TS_DEBUG_USE_DERP_HTTP", "1");

    /** A UDP DNS server: A for probe.example, NXDOMAIN for everything else; logs each query's source. */
    static final String DNS_SERVER = """
            import socket, struct, sys
            bind, answer = sys.argv[1], sys.argv[2]
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((bind, 53))
            print("listening", bind, flush=True)
            while True:
                q, addr = s.recvfrom(4096)
                try:
                    qid, flags = struct.unpack(">HH", q[:4])
                    i, labels = 12, []
                    while q[i] != 0:
                        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
                        i += 1 + q[i]
                    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
                    question = q[12:i + 5]
                except Exception:
                    continue
                name = ".".join(labels).lower()
                print("query from", addr[0], name, qtype, flush=True)
                rcode, answers = 0, b""
                if name == "probe.example":
                    if qtype == 1:
                        answers = b"\\xc0\\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(answer)
                else:
                    rcode = 3
                hdr = struct.pack(">HHHHHH", qid, 0x8080 | (flags & 0x0100) | rcode, 1, 1 if answers else 0, 0, 0)
                s.sendto(hdr + question + answers, addr)
            """;

    /** The lab: control, the two resolvers, and the exit and client hosts with their own resolv.conf. */
    record Net(Lab lab, Host exit, Host client, ControlServerProcess server, BackgroundProcess exitNs, String key) {}

    interface Scenario {
        void run(Net net, List<TailnetNode> nodes) throws Exception;
    }

    static void inLab(String policy, Scenario s) throws Exception {
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl"), dns = lab.host("dns"), exit = lab.host("exit"), client = lab.host("client");
            for (Host h : List.of(ctl, dns, exit, client)) lan.connect(h);
            ctl.addAddress("eth0", "10.81.0.1/24");
            dns.addAddress("eth0", CLIENT_NS + "/24");
            dns.addAddress("eth0", EXIT_NS + "/24");
            exit.addAddress("eth0", EXIT_LAN + "/24");
            client.addAddress("eth0", CLIENT_LAN + "/24");
            exit.resolvConf("nameserver " + EXIT_NS + "\n");
            client.resolvConf("nameserver " + CLIENT_NS + "\n");
            Path script = lab.workDir().resolve("dns.py");
            Files.writeString(script, DNS_SERVER);
            BackgroundProcess clientNs = dns.spawn("dns-client-side", "python3", script.toString(), CLIENT_NS, CLIENT_ANSWER);
            BackgroundProcess exitNs = dns.spawn("dns-exit-side", "python3", script.toString(), EXIT_NS, EXIT_ANSWER);
            assertThat(clientNs.waitForOutput("listening", Duration.ofSeconds(10))).as(clientNs::output).isTrue();
            assertThat(exitNs.waitForOutput("listening", Duration.ofSeconds(10))).as(exitNs::output).isTrue();
            String extra = "";
            if (policy != null) {
                Path p = lab.workDir().resolve("policy.hujson");
                Files.writeString(p, policy);
                extra = "policy:\n  mode: file\n  path: " + p + "\n";
            }
            ControlServerProcess server = ControlServerProcess.start(ctl, "10.81.0.1", lab.workDir().resolve("ctl"), extra);
            List<TailnetNode> nodes = new ArrayList<>();
            try {
                server.admin("users", "create", "alice");
                String key = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--expiration", "1h");
                // Without the tailnet both hosts have their own answer.
                assertThat(resolve(client, NAME)).isEqualTo(CLIENT_ANSWER);
                assertThat(resolve(exit, NAME)).isEqualTo(EXIT_ANSWER);
                s.run(new Net(lab, exit, client, server, exitNs, key), nodes);
            } finally {
                for (TailnetNode n : nodes) n.close();
                server.close();
                clientNs.stop(Duration.ofSeconds(1));
                exitNs.stop(Duration.ofSeconds(1));
            }
        }
    }

    static TailnetNode start(TailnetNode.Binaries bins, Host h, Net net, String name, Map<String, String> env) throws Exception {
        Map<String, String> e = new HashMap<>(ENV);
        e.putAll(env);
        return TailnetNode.start(bins, h, net.lab().workDir().resolve(name), e);
    }

    static void up(TailnetNode n, Net net, String name, String... extra) {
        ExecResult r = n.up(ControlServerProcess.serverUrl(net.server().ip), net.key(), name, extra);
        assertThat(r.ok()).as(() -> name + " (" + n.bins.kind() + "): up failed: " + r.describe() + "\n" + n.daemon.tail(60)).isTrue();
    }

    /** The first IPv4 address {@code getent ahostsv4} gives for {@code name} on {@code h} (the host's resolver), or "". */
    static String resolve(Host h, String name) {
        ExecResult r = h.exec(Duration.ofSeconds(25), "getent", "ahostsv4", name);
        if (!r.ok() || r.stdout().isBlank()) return "";
        return r.stdout().strip().split("\\s+")[0];
    }

    static void awaitResolves(Host h, String name, String want, Duration within, TailnetNode... logs) {
        Instant end = Instant.now().plus(within);
        String got = "";
        while (Instant.now().isBefore(end)) {
            got = resolve(h, name);
            if (got.equals(want)) return;
            Lab.sleep(Duration.ofMillis(500));
        }
        StringBuilder diag = new StringBuilder();
        for (TailnetNode n : logs) diag.append("\n--- ").append(n.host.name()).append(" (").append(n.bins.kind()).append("):\n").append(n.daemon.tail(40));
        throw new AssertionError(h.name() + ": " + name + " resolved to '" + got + "', not " + want + " within " + within
                + "\nresolv.conf: " + h.exec("cat", "/etc/resolv.conf").stdout() + diag);
    }

    /** The exit-side resolver was asked for probe.example, and only ever by the exit node itself. */
    static void askedOnlyByTheExitNode(Net net) {
        List<String> sources = net.exitNs().output().lines().filter(l -> l.startsWith("query from") && l.contains(NAME))
                .map(l -> l.split(" ")[2]).distinct().toList();
        assertThat(sources).as("sources of the exit-side resolver's probe.example queries").contains(EXIT_LAN).containsOnly(EXIT_LAN);
    }

    /** Approves 0.0.0.0/0 and ::/0 for {@code hostname} and waits until {@code viewer} sees it as an exit node. */
    static void approveExitNode(Net net, String hostname, TailnetNode viewer) {
        String id = AgentPolicyTest.nodeId(net.server(), hostname);
        net.server().admin("nodes", "approve-routes", "-i", id, "-r", "0.0.0.0/0,::/0");
        viewer.await(hostname + " offered as an exit node", Duration.ofSeconds(30),
                n -> AgentPolicySubnetTest.allowedIps(n, hostname).contains("0.0.0.0/0"));
    }

    @Test
    void latticedClientResolvesThroughALatticedExitNode() throws Exception {
        TailnetNode.Binaries ours = TailnetNode.lattice();
        inLab(null, (net, nodes) -> {
            TailnetNode exit = start(ours, net.exit(), net, "exit", Map.of());
            nodes.add(exit);
            up(exit, net, "exit", "--accept-dns=true", "--advertise-exit-node");
            TailnetNode client = start(ours, net.client(), net, "client", Map.of());
            nodes.add(client);
            up(client, net, "client", "--accept-dns=true");
            approveExitNode(net, "exit", client);
            String exitIp = exit.ipv4();
            // MagicDNS without an exit node: the client's own resolver answers.
            awaitResolves(net.client(), NAME, CLIENT_ANSWER, Duration.ofSeconds(20), client);
            awaitResolves(net.client(), "exit.tailnet.test", exitIp, Duration.ofSeconds(10), client);

            // The same node, now using the exit node.
            ExecResult set = client.cli(Duration.ofSeconds(30), "set", "--exit-node=" + exitIp);
            assertThat(set.ok()).as(set::describe).isTrue();
            awaitResolves(net.client(), NAME, EXIT_ANSWER, Duration.ofSeconds(30), client, exit);
            awaitResolves(net.client(), "exit.tailnet.test", exitIp, Duration.ofSeconds(10), client);
            askedOnlyByTheExitNode(net);
            System.out.println("[e2e] exit-node DNS: latticed client -> latticed exit node's DoH: " + NAME + " = " + EXIT_ANSWER);
        });
    }

    /**
     * The exit node is tagged (another owner than the client's user) and the policy grants the client nothing but
     * autogroup:internet: the exit node's packet filter has no rule for its own address, so the peer API must be
     * reached past it (as tailscale lets peer API SYNs through), and the DNS proxy admits the client because the
     * filter would let it reach the internet through this exit node.
     */
    static final String INTERNET_ONLY = """
            {
              "tagOwners": {"tag:exit": ["alice@"]},
              "autoApprovers": {"exitNode": ["tag:exit"]},
              "acls": [
                {"action": "accept", "src": ["alice@"], "dst": ["autogroup:internet:*"]},
              ],
            }
            """;

    @Test
    void anotherOwnersClientAllowedOnlyTheInternetResolvesThroughTheExitNode() throws Exception {
        TailnetNode.Binaries ours = TailnetNode.lattice();
        inLab(INTERNET_ONLY, (net, nodes) -> {
            String tagged = net.server().admin("preauthkeys", "create", "--user", "alice", "--reusable", "--tags", "tag:exit");
            TailnetNode exit = start(ours, net.exit(), net, "exit", Map.of());
            nodes.add(exit);
            ExecResult r = exit.up(ControlServerProcess.serverUrl(net.server().ip), tagged, "exit", "--accept-dns=false",
                    "--advertise-exit-node");
            assertThat(r.ok()).as(() -> "exit up: " + r.describe() + "\n" + exit.daemon.tail(60)).isTrue();
            String exitIp = exit.ipv4();
            TailnetNode client = start(ours, net.client(), net, "client", Map.of());
            nodes.add(client);
            up(client, net, "client", "--accept-dns=true");
            client.await("the tagged exit node, auto-approved, in the client's peers", Duration.ofSeconds(30),
                    n -> AgentPolicySubnetTest.allowedIps(n, "exit").contains("0.0.0.0/0"));
            ExecResult set = client.cli(Duration.ofSeconds(30), "set", "--exit-node=" + exitIp);
            assertThat(set.ok()).as(set::describe).isTrue();
            awaitResolves(net.client(), NAME, EXIT_ANSWER, Duration.ofSeconds(30), client, exit);
            askedOnlyByTheExitNode(net);
            System.out.println("[e2e] exit-node DNS: autogroup:internet only, tagged latticed exit node: " + NAME + " = " + EXIT_ANSWER);
        });
    }

    @Test
    void officialClientResolvesThroughALatticedExitNode() throws Exception {
        TailnetNode.Binaries official = TailnetNode.official(), ours = TailnetNode.lattice();
        inLab(null, (net, nodes) -> {
            TailnetNode exit = start(ours, net.exit(), net, "exit", Map.of());
            nodes.add(exit);
            up(exit, net, "exit", "--accept-dns=false", "--advertise-exit-node");
            TailnetNode client = start(official, net.client(), net, "client", Map.of());
            nodes.add(client);
            up(client, net, "client", "--accept-dns=true");
            approveExitNode(net, "exit", client);
            String exitIp = exit.ipv4();
            awaitResolves(net.client(), NAME, CLIENT_ANSWER, Duration.ofSeconds(20), client);
            ExecResult set = client.cli(Duration.ofSeconds(30), "set", "--exit-node=" + exitIp);
            assertThat(set.ok()).as(set::describe).isTrue();
            awaitResolves(net.client(), NAME, EXIT_ANSWER, Duration.ofSeconds(30), client, exit);
            awaitResolves(net.client(), "exit.tailnet.test", exitIp, Duration.ofSeconds(10), client);
            askedOnlyByTheExitNode(net);
            System.out.println("[e2e] exit-node DNS: official client -> latticed exit node's DoH: " + NAME + " = " + EXIT_ANSWER);
        });
    }

    @Test
    void latticedClientResolvesThroughAnOfficialExitNode() throws Exception {
        TailnetNode.Binaries official = TailnetNode.official(), ours = TailnetNode.lattice();
        inLab(null, (net, nodes) -> {
            TailnetNode exit = start(official, net.exit(), net, "exit", Map.of());
            nodes.add(exit);
            up(exit, net, "exit", "--accept-dns=false", "--advertise-exit-node", "--netfilter-mode=off");
            String exitIp = exit.ipv4();
            TailnetNode client = start(ours, net.client(), net, "client", Map.of());
            nodes.add(client);
            up(client, net, "client", "--accept-dns=true");
            approveExitNode(net, "exit", client);
            ExecResult set = client.cli(Duration.ofSeconds(30), "set", "--exit-node=" + exitIp);
            assertThat(set.ok()).as(set::describe).isTrue();
            awaitResolves(net.client(), NAME, EXIT_ANSWER, Duration.ofSeconds(30), client, exit);
            awaitResolves(net.client(), "exit.tailnet.test", exitIp, Duration.ofSeconds(10), client);
            askedOnlyByTheExitNode(net);
            System.out.println("[e2e] exit-node DNS: latticed client -> official exit node's DoH: " + NAME + " = " + EXIT_ANSWER);
        });
    }
}
