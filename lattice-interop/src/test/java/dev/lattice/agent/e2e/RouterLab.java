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
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The lab for subnet routers and exit nodes: a "WAN" switch (203.0.113.0/24, TEST-NET-3) with the control server
 * at .1 and an ISP router at .254 that routes to "the internet", 198.51.100.0/24 (TEST-NET-2), where a web server at
 * {@link #WEB} answers each request with the address it came from. The internet must not be RFC 1918: an exit node
 * keeps private ranges and its own LANs to itself, as tailscale's does. Tailnet hosts join the WAN with
 * {@link #wanHost}; LANs behind them are added with {@link #lan}.
 */
final class RouterLab implements AutoCloseable {
    static final String WAN = "203.0.113.";
    static final String ISP = WAN + "254";
    static final String CTL = WAN + "1";
    static final String WEB = "198.51.100.80";
    /** Official nodes: their firewall through nftables (no iptables in the lab), DERP over plain HTTP. */
    static final Map<String, String> OFFICIAL_ENV = Map.of("TS_DEBUG_USE_DERP_HTTP", "1", "TS_DEBUG_FIREWALL_MODE", "nftables");

    final Lab lab = new Lab();
    final Switch wan = lab.newSwitch("wan");
    final Host ctl = lab.host("ctl");
    final Host isp = lab.host("isp");
    final Host web = lab.host("web");
    final List<TailnetNode> nodes = new ArrayList<>();
    final List<BackgroundProcess> servers = new ArrayList<>();
    ControlServerProcess server;

    RouterLab() {
        wan.connect(ctl);
        ctl.addAddress("eth0", CTL + "/24").defaultRoute(ISP);
        wan.connect(isp);
        isp.addAddress("eth0", ISP + "/24");
        Link l = lab.link(isp, "inet", web, "eth0");
        isp.addAddress(l.aDev(), "198.51.100.1/24");
        web.addAddress("eth0", WEB + "/24").defaultRoute("198.51.100.1");
        isp.enableForwarding();
        servers.add(whoamiServer(web, WEB));
    }

    /** Starts control with {@code policyHuJson} (null: none, everyone reaches everyone). */
    RouterLab control(String policyHuJson) throws Exception {
        String extra = "";
        if (policyHuJson != null) {
            Path policy = lab.workDir().resolve("policy.hujson");
            Files.writeString(policy, policyHuJson);
            extra = "policy:\n  mode: file\n  path: " + policy + "\n";
        }
        server = ControlServerProcess.start(ctl, CTL, lab.workDir().resolve("ctl"), extra);
        server.admin("users", "create", "alice");
        return this;
    }

    String key(String... tags) {
        List<String> args = new ArrayList<>(List.of("preauthkeys", "create", "--user", "alice", "--reusable"));
        if (tags.length > 0) args.addAll(List.of("--tags", String.join(",", tags)));
        return server.admin(args.toArray(String[]::new));
    }

    /** A host on the WAN at 203.0.113.{@code octet}, default route via the ISP. */
    Host wanHost(String name, int octet) {
        Host h = lab.host(name);
        wan.connect(h);
        h.addAddress("eth0", WAN + octet + "/24").defaultRoute(ISP);
        return h;
    }

    /** Starts a daemon of kind {@code bins} on {@code h} and brings it up; fails with both logs. */
    TailnetNode join(TailnetNode.Binaries bins, Host h, String key, String name, String... extra) {
        Map<String, String> env = bins.kind() == TailnetNode.Kind.OFFICIAL ? OFFICIAL_ENV : Map.of("TS_DEBUG_USE_DERP_HTTP", "1");
        TailnetNode t;
        try {
            t = TailnetNode.start(bins, h, lab.workDir().resolve(name), env);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        nodes.add(t);
        ExecResult up = t.up(ControlServerProcess.serverUrl(CTL), key, name, extra);
        assertThat(up.ok()).as(() -> name + " (" + bins.kind() + "): up failed: " + up.describe() + "\ndaemon:\n"
                + t.daemon.tail(80) + "\nserver:\n" + server.process.tail(40)).isTrue();
        return t;
    }

    String nodeId(String hostname) {
        JsonNode list = JsonMapper.shared().readTree(server.admin("nodes", "list", "-o", "json"));
        for (JsonNode n : list) if (n.path("name").asString().equals(hostname)) return n.path("id").asString();
        throw new AssertionError("node " + hostname + " not listed: " + list);
    }

    void approve(String hostname, String routes) {
        server.admin("nodes", "approve-routes", "--identifier", nodeId(hostname), "--routes", routes);
    }

    /** An HTTP server on {@code ip}:80 that answers each request with the client's address, and nothing else. */
    static BackgroundProcess whoamiServer(Host h, String ip) {
        return h.spawn("whoami-" + ip, "python3", "-c", """
                import http.server, sys
                class H(http.server.BaseHTTPRequestHandler):
                    def do_GET(self):
                        b = self.client_address[0].encode()
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(b)))
                        self.end_headers()
                        self.wfile.write(b)
                    def log_message(self, *a):
                        pass
                http.server.HTTPServer((sys.argv[1], 80), H).serve_forever()
                """, ip);
    }

    /** The address {@code ip}'s whoami server saw {@code from} come from, or null when it could not be reached in 3 s. */
    static String whoami(Host from, String ip) {
        ExecResult r = from.exec(Duration.ofSeconds(10), "curl", "-s", "--max-time", "3", "http://" + ip + "/");
        return r.ok() && !r.stdout().isBlank() ? r.stdout().strip() : null;
    }

    /** Polls {@link #whoami} until it answers {@code want}; returns the last answer (equal to it, or not after {@code within}). */
    static String awaitWhoami(Host from, String ip, String want, Duration within) {
        Instant end = Instant.now().plus(within);
        String last;
        do {
            last = whoami(from, ip);
            if (want.equals(last)) return last;
            Lab.sleep(Duration.ofMillis(300));
        } while (Instant.now().isBefore(end));
        return last;
    }

    static void await(String what, Duration within, Supplier<Boolean> cond) {
        Instant end = Instant.now().plus(within);
        while (Instant.now().isBefore(end)) {
            try {
                if (cond.get()) return;
            } catch (RuntimeException | AssertionError e) {
                // not yet
            }
            Lab.sleep(Duration.ofMillis(300));
        }
        throw new AssertionError(what + " not reached in " + within);
    }

    /** What to show when a step fails: the node's routing tables and log. */
    static String debug(TailnetNode n) {
        return n.host.name() + " rules:\n" + n.host.ip("rule").stdout() + "table 52:\n"
                + n.host.ip("route", "show", "table", "52").stdout() + "status:\n"
                + n.cli(Duration.ofSeconds(10), "status").output() + "\nlog:\n" + n.daemon.tail(40);
    }

    @Override
    public void close() {
        try {
            for (TailnetNode n : nodes) {
                try {
                    n.close();
                } catch (RuntimeException e) {
                    // the lab takes it down anyway
                }
            }
            for (BackgroundProcess s : servers) s.stop(Duration.ofSeconds(2));
            if (server != null) server.close();
        } finally {
            lab.close();
        }
    }
}
