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
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;

/**
 * Subnet routes under the policy. An official tailscaled (tag:router) advertises 192.168.77.0/24, a LAN only it
 * is plugged into, with a web server on 192.168.77.10; autoApprovers approve the route. Clients (tag:client, one
 * official and one latticed, both --accept-routes) may reach the subnet and do; others (tag:other, one of each kind)
 * may reach the router itself but not the subnet, so they see the router as a peer without the subnet in its
 * AllowedIPs (lattice-control's per-viewer route reduction), and cannot reach the subnet host (the router's own
 * filter, whatever the netmap says). Only official tailscaled can advertise routes, so this is skipped visibly
 * unless LATTICE_TAILSCALED and LATTICE_TAILSCALE are set.
 */
@Tag("netns")
@Timeout(420)
class AgentPolicySubnetTest {
    static final String SUBNET = "192.168.77.0/24", SUBNET_HOST = "192.168.77.10";

    static final String POLICY = """
            {
              "tagOwners": {
                "tag:router": ["alice@"],
                "tag:client": ["alice@"],
                "tag:other": ["alice@"],
              },
              "autoApprovers": {
                "routes": {"192.168.77.0/24": ["tag:router"]},
              },
              "acls": [
                // Clients reach the subnet (which also makes the router their peer).
                {"action": "accept", "src": ["tag:client"], "dst": ["192.168.77.0/24:*"]},
                // Others reach the router's own addresses only: a peer, but not the routes behind it.
                {"action": "accept", "src": ["tag:other"], "dst": ["tag:router:*"]},
              ],
            }
            """;

    @Test
    void allowedClientsReachTheSubnetOthersGetNoRoute() throws Exception {
        TailnetNode.Binaries official = TailnetNode.official(), ours = TailnetNode.lattice();
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl");
            lan.connect(ctl);
            ctl.addAddress("eth0", "10.79.0.1/24");
            List<String> names = List.of("r", "c1", "c2", "o1", "o2");
            List<Host> hosts = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                Host h = lab.host(names.get(i));
                lan.connect(h);
                h.addAddress("eth0", "10.79.0." + (11 + i) + "/24");
                hosts.add(h);
            }
            Host r = hosts.get(0);
            // The subnet: a host that only the router connects to.
            Host srv = lab.host("srv");
            lab.link(r, "lan77", srv, "eth0");
            r.addAddress("lan77", "192.168.77.1/24");
            r.enableForwarding();
            srv.addAddress("eth0", SUBNET_HOST + "/24");
            srv.defaultRoute("192.168.77.1");

            Path policy = lab.workDir().resolve("policy.hujson");
            Files.writeString(policy, POLICY);
            ControlServerProcess server = ControlServerProcess.start(ctl, "10.79.0.1", lab.workDir().resolve("ctl"),
                    "policy:\n  mode: file\n  path: " + policy + "\n");
            List<TailnetNode> nodes = new ArrayList<>();
            BackgroundProcess web = null, webR = null;
            try {
                server.admin("users", "create", "alice");
                String kRouter = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--tags", "tag:router");
                String kClient = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--tags", "tag:client");
                String kOther = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--tags", "tag:other");
                web = AgentPolicyTest.web(srv, SUBNET_HOST);
                // No iptables here: the router forwards without tailscaled's netfilter rules (no SNAT; srv routes
                // back through it). Its packet filter, which enforces the policy, is in tailscaled itself.
                TailnetNode router = AgentPolicyTest.join(official, r, lab, server, kRouter, "r",
                        "--advertise-routes=" + SUBNET, "--netfilter-mode=off");
                nodes.add(router);
                TailnetNode c1 = AgentPolicyTest.join(official, hosts.get(1), lab, server, kClient, "c1", "--accept-routes");
                nodes.add(c1);
                TailnetNode c2 = AgentPolicyTest.join(ours, hosts.get(2), lab, server, kClient, "c2", "--accept-routes");
                nodes.add(c2);
                TailnetNode o1 = AgentPolicyTest.join(official, hosts.get(3), lab, server, kOther, "o1", "--accept-routes");
                nodes.add(o1);
                TailnetNode o2 = AgentPolicyTest.join(ours, hosts.get(4), lab, server, kOther, "o2", "--accept-routes");
                nodes.add(o2);
                String ipR = router.ipv4();
                webR = AgentPolicyTest.web(r, ipR);

                // (a) The route is auto-approved and reaches the allowed clients, which then reach the subnet host.
                for (TailnetNode c : List.of(c1, c2)) {
                    c.await("router r with " + SUBNET + " in " + c.host.name() + "'s AllowedIPs", Duration.ofSeconds(30),
                            n -> allowedIps(n, "r").contains(SUBNET));
                    assertThat(peerOf(c, "r").map(p -> strings(p.path("PrimaryRoutes"))).orElse(List.of()))
                            .as(c.host.name() + " (" + c.bins.kind() + "): r is the subnet's router in status --json").containsExactly(SUBNET);
                    assertThat(AgentPolicyTest.awaitTcp(c.host, SUBNET_HOST, Duration.ofSeconds(20)))
                            .as(() -> c.host.name() + " (" + c.bins.kind() + ", tag:client) -> " + SUBNET_HOST + ":80 via r\nroutes: "
                                    + c.host.exec("ip", "route", "show", "table", "all").stdout()
                                    + "\nrouter log:\n" + router.daemon.tail(30))
                            .isTrue();
                }
                System.out.println("[e2e] subnet: route auto-approved; c1 (official) and c2 (latticed) reach " + SUBNET_HOST);

                // (b) The others see the router (they may reach it) but not its route, and cannot reach the subnet.
                for (TailnetNode o : List.of(o1, o2)) {
                    o.await("router r in " + o.host.name() + "'s peers", Duration.ofSeconds(20), n -> peerOf(n, "r").isPresent());
                    assertThat(AgentPolicyTest.awaitTcp(o.host, ipR, Duration.ofSeconds(15)))
                            .as(() -> o.host.name() + " (tag:other) -> r's own address :80, allowed\n" + filterOf(router)).isTrue();
                    // Whatever the netmap says, the router's own filter keeps them out of the subnet.
                    assertThat(AgentPolicyTest.tcp(o.host, SUBNET_HOST)).as(o.host.name() + " -> " + SUBNET_HOST + ":80").isFalse();
                }
                // The route went out to c1 and c2 above; sample the others' netmaps for a while after that.
                for (int i = 0; i < 5; i++) {
                    for (TailnetNode o : List.of(o1, o2)) {
                        JsonNode p = peerOf(o, "r").orElseThrow();
                        assertThat(strings(p.path("AllowedIPs"))).as(o.host.name() + " (" + o.bins.kind()
                                + ", tag:other): r's AllowedIPs must not hold the subnet the policy keeps it from"
                                + " (PrimaryRoutes " + p.path("PrimaryRoutes") + ")")
                                .doesNotContain(SUBNET).contains(ipR + "/32");
                        assertThat(strings(p.path("PrimaryRoutes"))).as(o.host.name() + ": r's PrimaryRoutes").doesNotContain(SUBNET);
                    }
                    Lab.sleep(Duration.ofMillis(500));
                }
                System.out.println("[e2e] subnet: o1 (official) and o2 (latticed) cannot reach " + SUBNET_HOST
                        + " and see r without " + SUBNET);
            } finally {
                if (web != null) web.stop(Duration.ofSeconds(2));
                if (webR != null) webR.stop(Duration.ofSeconds(2));
                for (TailnetNode n : nodes) n.close();
                server.close();
            }
        }
    }

    /** The official node's packet filter as its netmap has it, for failure messages. */
    static String filterOf(TailnetNode official) {
        var r = official.cli(Duration.ofSeconds(15), "debug", "netmap");
        if (!r.ok()) return "debug netmap failed: " + r.describe();
        JsonNode nm = tools.jackson.databind.json.JsonMapper.shared().readTree(r.stdout());
        return official.host.name() + " PacketFilterRules: " + nm.path("PacketFilterRules") + "\nPacketFilter: "
                + nm.path("PacketFilter");
    }

    static Optional<JsonNode> peerOf(TailnetNode n, String hostName) {
        return AgentPolicyTest.peer(n, hostName);
    }

    static List<String> allowedIps(TailnetNode n, String hostName) {
        return peerOf(n, hostName).map(p -> strings(p.path("AllowedIPs"))).orElse(List.of());
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        for (JsonNode s : array) out.add(s.asString());
        return out;
    }
}
