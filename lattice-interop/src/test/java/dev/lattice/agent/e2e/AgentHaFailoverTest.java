package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Link;
import dev.lattice.testlab.Switch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * HA subnet routers with real clients, and a cable cut. Two official tailscaled (tag:router) serve the same LAN,
 * 192.168.77.0/24, with an echo server on 192.168.77.10 that answers each request with the address it came from
 * (each router masquerades onto the LAN, so the answer names the router the traffic took); autoApprovers approve
 * both routes. A latticed and an official client (--accept-routes) reach the LAN through the primary. Then the
 * primary's uplink is cut in the switch (its bridge port disabled: no FIN, no RST, its own link stays up, as when a
 * cable is pulled further along) while its LAN side stays up. lattice-control must notice the dead connection,
 * mark the router offline, move the subnet to the other router, and the clients' traffic must flow again through it.
 *
 * <p>With {@code node.routes.ha} probes on (default 10 s interval, 5 s timeout) the bound is interval + timeout;
 * with probes off, whichever ends the connection first: the server's TCP keep-alive with its 30 s user timeout
 * (about 40 s after the last packet from the router), or the map keep-alive (50–59 s) with its PING's 15 s
 * acknowledgement timeout (≤ 74 s; the one that counts where TCP cannot tell, as behind a reverse proxy). Only official
 * tailscaled can advertise routes, so this is skipped visibly unless LATTICE_TAILSCALED and LATTICE_TAILSCALE are set.
 */
@Tag("netns")
@Timeout(900)
class AgentHaFailoverTest {
    static final String SUBNET = "192.168.77.0/24", LAN_HOST = "192.168.77.10";

    /** Probe interval + timeout is 15 s; the rest is slack for a loaded machine. */
    static final Duration PROBE_BOUND = Duration.ofSeconds(30);
    /** Without probes: the map keep-alive 50–59 s + 15 s for its PING's acknowledgement (≤ 74 s); the rest is slack. */
    static final Duration KEEPALIVE_BOUND = Duration.ofSeconds(95);

    static final String POLICY = """
            {
              "tagOwners": {"tag:router": ["alice@"]},
              "autoApprovers": {"routes": {"192.168.77.0/24": ["tag:router"]}},
              "acls": [
                {"action": "accept", "src": ["*"], "dst": ["*:*"]},
                {"action": "accept", "src": ["*"], "dst": ["192.168.77.0/24:*"]},
              ],
            }
            """;

    /** Answers every GET with the client's address: behind a masquerading router, the router's LAN address. */
    static final String ECHO_SERVER = """
            import http.server
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    b = self.client_address[0].encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(b)))
                    self.end_headers()
                    self.wfile.write(b)
                def log_message(self, *a):
                    pass
            http.server.ThreadingHTTPServer(("%s", 80), H).serve_forever()
            """.formatted(LAN_HOST);

    @Test
    void cutPrimaryRouterFailsOverWithinTheProbeBound() throws Exception {
        Timings t = scenario("probes on (default 10s interval, 5s timeout)", "", PROBE_BOUND);
        // It was the probe that ended the dead connection, not the keep-alive (which alone may take up to 74 s).
        assertThat(t.serverLog()).as("the server logs the unanswered HA probe").containsPattern("HA probe: node \\d+ did not answer");
    }

    @Test
    void withProbesOffTheKeepAlivePingStillBoundsFailover() throws Exception {
        Timings t = scenario("probes off (probe_interval: 0)", "node:\n  routes:\n    ha:\n      probe_interval: 0\n", KEEPALIVE_BOUND);
        assertThat(t.serverLog()).as("no HA probes when they are off").doesNotContain("HA probe").doesNotContain("HA subnet router probes every");
    }

    record Timings(long offlineMs, long movedMs, Map<String, Long> flowMs, String serverLog) {}

    static Timings scenario(String label, String extraYaml, Duration bound) throws Exception {
        TailnetNode.Binaries official = TailnetNode.official(), ours = TailnetNode.lattice();
        try (Lab lab = new Lab()) {
            Switch wan = lab.newSwitch("wan");
            Host ctl = lab.host("ctl");
            wan.connect(ctl);
            ctl.addAddress("eth0", "10.81.0.1/24");
            Map<String, Link> uplinks = new LinkedHashMap<>();
            List<Host> hosts = new ArrayList<>();
            List<String> names = List.of("r1", "r2", "c1", "c2");
            for (int i = 0; i < names.size(); i++) {
                Host h = lab.host(names.get(i));
                uplinks.put(names.get(i), wan.connect(h));
                h.addAddress("eth0", "10.81.0." + (11 + i) + "/24");
                hosts.add(h);
            }
            // The LAN both routers serve, with the echo server on it.
            Switch lan = lab.newSwitch("lan");
            Host srv = lab.host("srv");
            lan.connect(srv);
            srv.addAddress("eth0", LAN_HOST + "/24");
            for (int i = 0; i < 2; i++) {
                Host r = hosts.get(i);
                String dev = lan.connect(r).devOn(r);
                r.addAddress(dev, "192.168.77." + (1 + i) + "/24");
                r.enableForwarding();
                // tailscaled's own SNAT needs its netfilter mode; this is the same masquerade, independent of it.
                r.nft("""
                        table ip nat {
                          chain post {
                            type nat hook postrouting priority 100;
                            oifname "%s" masquerade
                          }
                        }
                        """.formatted(dev));
            }

            Path policy = lab.workDir().resolve("policy.hujson");
            Files.writeString(policy, POLICY);
            Path ctlDir = lab.workDir().resolve("ctl");
            ControlServerProcess server = ControlServerProcess.start(ctl, "10.81.0.1", ctlDir,
                    "policy:\n  mode: file\n  path: " + policy + "\n" + extraYaml);
            AdminNodes api = new AdminNodes(ctl, ctlDir.resolve("control.sock"));
            List<TailnetNode> nodes = new ArrayList<>();
            BackgroundProcess echo = null;
            try {
                server.admin("users", "create", "alice");
                String kRouter = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--tags", "tag:router");
                String kClient = server.admin("preauthkeys", "create", "--user", "alice", "--reusable");
                echo = srv.spawn("echo", "python3", "-c", ECHO_SERVER);
                // r1 first: the lower id, so the first primary (the election prefers the lowest id among online routers).
                for (String r : List.of("r1", "r2")) {
                    nodes.add(AgentPolicyTest.join(official, hosts.get(names.indexOf(r)), lab, server, kRouter, r,
                            "--advertise-routes=" + SUBNET, "--netfilter-mode=off"));
                }
                TailnetNode c1 = AgentPolicyTest.join(ours, hosts.get(2), lab, server, kClient, "c1", "--accept-routes");
                nodes.add(c1);
                TailnetNode c2 = AgentPolicyTest.join(official, hosts.get(3), lab, server, kClient, "c2", "--accept-routes");
                nodes.add(c2);
                List<TailnetNode> clients = List.of(c1, c2);

                // Both routes auto-approved, both routers online, one primary.
                api.await("r1 and r2 online with " + SUBNET + " approved", Duration.ofSeconds(30), n ->
                        n.get("r1").online() && n.get("r2").online() && n.get("r1").approved().contains(SUBNET)
                                && n.get("r2").approved().contains(SUBNET));
                String primary = api.await("a primary for " + SUBNET, Duration.ofSeconds(10),
                        n -> n.values().stream().anyMatch(x -> x.primary().contains(SUBNET))).values().stream()
                        .filter(x -> x.primary().contains(SUBNET)).findFirst().orElseThrow().name();
                String standby = primary.equals("r1") ? "r2" : "r1";
                String viaPrimary = lanAddress(primary), viaStandby = lanAddress(standby);
                for (TailnetNode c : clients) {
                    long seen = awaitVia(c.host, viaPrimary, Duration.ofSeconds(30));
                    assertThat(seen).as(() -> c.host.name() + " (" + c.bins.kind() + ") -> " + LAN_HOST + " via " + primary
                            + "; last answer: " + via(c.host) + "\nstatus:\n" + c.cli(Duration.ofSeconds(10), "status").output())
                            .isPositive();
                }
                System.out.println("[ha] " + label + ": " + primary + " is primary; c1 (latticed) and c2 (official) reach "
                        + LAN_HOST + " through it (answers name " + viaPrimary + ")");

                // Cut the primary's uplink in the switch: its packets vanish, nothing is sent to either side.
                Link up = uplinks.get(primary);
                long cut = System.nanoTime();
                wan.host().execChecked("bridge", "link", "set", "dev", up.devOn(wan.host()), "state", "0");
                System.out.println("[ha] " + label + ": cut " + primary + "'s uplink (bridge port " + up.devOn(wan.host())
                        + " disabled); its LAN side stays up");

                long deadline = cut + bound.toNanos();
                AtomicLong offline = new AtomicLong(-1), moved = new AtomicLong(-1);
                Map<String, Long> flow = new LinkedHashMap<>();
                try (var exec = Executors.newVirtualThreadPerTaskExecutor()) {
                    Future<?> state = exec.submit(() -> {
                        while ((offline.get() < 0 || moved.get() < 0) && System.nanoTime() < deadline) {
                            long now = System.nanoTime(); // as for the traffic: when the poll that saw it started
                            Map<String, AdminNodes.NodeState> n = api.nodes();
                            if (offline.get() < 0 && n.containsKey(primary) && !n.get(primary).online()) offline.set(now);
                            if (moved.get() < 0 && n.containsKey(standby) && n.get(standby).primary().contains(SUBNET)) moved.set(now);
                            Lab.sleep(Duration.ofMillis(200));
                        }
                        return null;
                    });
                    Map<String, Future<Long>> flows = new LinkedHashMap<>();
                    for (TailnetNode c : clients) {
                        flows.put(c.host.name() + " (" + c.bins.kind().name().toLowerCase(java.util.Locale.ROOT) + ")",
                                exec.submit(() -> awaitVia(c.host, viaStandby, Duration.ofNanos(deadline - System.nanoTime()))));
                    }
                    state.get();
                    for (var e : flows.entrySet()) flow.put(e.getKey(), e.getValue().get());
                }
                long offlineMs = since(cut, offline.get()), movedMs = since(cut, moved.get());
                Map<String, Long> flowMs = new LinkedHashMap<>();
                flow.forEach((k, v) -> flowMs.put(k, since(cut, v)));
                System.out.println("[ha] " + label + ": cut -> " + primary + " offline: " + fmt(offlineMs)
                        + "; cut -> " + standby + " primary: " + fmt(movedMs)
                        + "; cut -> traffic flows again through " + standby + ": " + fmtAll(flowMs)
                        + " (bound " + bound.toSeconds() + " s)");

                // What ended the cut router's connection, as the server logged it.
                String cutIp = "10.81.0." + (11 + names.indexOf(primary));
                server.process.output().lines()
                        .filter(l -> l.contains("HA probe: node") || l.contains("keep-alive PING not acknowledged")
                                || l.contains("closing control connection from /" + cutIp + ":"))
                        .forEach(l -> System.out.println("[ha] " + label + ": server: " + l));
                String serverLog = server.process.tail(60);
                assertThat(offlineMs).as(() -> label + ": " + primary + " offline in the control server within " + bound
                        + "\nserver log:\n" + serverLog).isPositive();
                assertThat(movedMs).as(() -> label + ": " + standby + " primary for " + SUBNET + " within " + bound
                        + "\nserver log:\n" + serverLog).isPositive();
                for (TailnetNode c : clients) {
                    String k = flowMs.keySet().stream().filter(x -> x.startsWith(c.host.name() + " ")).findFirst().orElseThrow();
                    assertThat(flowMs.get(k)).as(() -> label + ": " + k + " reaches " + LAN_HOST + " through " + standby
                            + " within " + bound + "; last answer: " + via(c.host) + "\nstatus:\n"
                            + c.cli(Duration.ofSeconds(10), "status").output() + "\ndaemon log:\n" + c.daemon.tail(40))
                            .isPositive();
                }

                // What an admin sees, through the CLI itself (-o json is Headscale's: snake_case, omitempty, so an
                // offline node has no "online" and the online one proves the field's name).
                JsonNode list = JsonMapper.shared().readTree(server.admin("nodes", "list", "-o", "json"));
                assertThat(AdminNodes.named(list, primary).path("online").asBoolean()).as("nodes list: " + primary + " online").isFalse();
                assertThat(AdminNodes.named(list, standby).path("online").asBoolean()).as("nodes list: " + standby + " online").isTrue();
                JsonNode routes = JsonMapper.shared().readTree(server.admin("nodes", "list-routes", "-o", "json"));
                assertThat(AgentPolicySubnetTest.strings(AdminNodes.named(routes, standby).path("subnet_routes")))
                        .as("nodes list-routes: " + standby + " serves the subnet").containsExactly(SUBNET);
                assertThat(AgentPolicySubnetTest.strings(AdminNodes.named(routes, primary).path("subnet_routes")))
                        .as("nodes list-routes: the cut " + primary + " serves nothing").isEmpty();
                assertThat(AgentPolicySubnetTest.strings(AdminNodes.named(routes, primary).path("approved_routes")))
                        .as("nodes list-routes: the cut " + primary + " keeps its approval").containsExactly(SUBNET);
                System.out.println("[ha] " + label + ": nodes list-routes:\n" + server.admin("nodes", "list-routes"));
                // And what the clients see: the standby is the subnet's router, the cut one is offline.
                for (TailnetNode c : clients) {
                    c.await(standby + " is " + SUBNET + "'s router and " + primary + " offline in status --json",
                            Duration.ofSeconds(10), n -> AgentPolicySubnetTest.peerOf(n, standby)
                                    .map(p -> AgentPolicySubnetTest.strings(p.path("PrimaryRoutes")).contains(SUBNET)).orElse(false)
                                    && AgentPolicySubnetTest.peerOf(n, primary).map(p -> !p.path("Online").asBoolean(true)).orElse(false));
                }
                return new Timings(offlineMs, movedMs, flowMs, server.process.output());
            } finally {
                if (echo != null) echo.stop(Duration.ofSeconds(2));
                for (TailnetNode n : nodes) n.close();
                server.close();
            }
        }
    }

    static String lanAddress(String router) {
        return "192.168.77." + router.substring(1);
    }

    static long since(long start, long t) {
        return t < 0 ? -1 : (t - start) / 1_000_000;
    }

    static String fmt(long ms) {
        return ms < 0 ? "not within the bound" : String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    static String fmtAll(Map<String, Long> ms) {
        List<String> out = new ArrayList<>();
        ms.forEach((k, v) -> out.add(k + " " + fmt(v)));
        return String.join(", ", out);
    }

    /** The echo server's answer from {@code h} (the LAN address the request arrived from), or "" if none in 1 s. */
    static String via(Host h) {
        ExecResult r = h.exec(Duration.ofSeconds(5), "curl", "-s", "-m", "1", "http://" + LAN_HOST + "/");
        return r.ok() ? r.stdout().trim() : "";
    }

    /**
     * Asks the echo server every 200 ms (each request allowed 1 s, several in flight) until one answer names
     * {@code router}; returns the {@link System#nanoTime} the first such request started, or -1 after {@code within}.
     */
    static long awaitVia(Host h, String router, Duration within) {
        long end = System.nanoTime() + within.toNanos();
        AtomicLong seen = new AtomicLong(-1);
        try (var probes = Executors.newVirtualThreadPerTaskExecutor()) {
            while (seen.get() < 0 && System.nanoTime() < end) {
                long start = System.nanoTime();
                probes.submit(() -> {
                    if (router.equals(via(h))) seen.accumulateAndGet(start, (a, b) -> a < 0 ? b : Math.min(a, b));
                });
                Lab.sleep(Duration.ofMillis(200));
            }
        }
        return seen.get();
    }
}
