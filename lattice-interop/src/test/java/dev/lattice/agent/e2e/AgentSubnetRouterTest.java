package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.Host;
import dev.lattice.testlab.Link;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * latticed as a subnet router: router {@code r} (tag:router) offers 192.168.77.0/24, a LAN only it is plugged into,
 * where {@code srv} (192.168.77.10) answers with the address each request came from. Clients (tag:client) may
 * reach the subnet; others (tag:other) may reach the router itself but not the subnet. With source NAT (the
 * default) {@code srv} sees the router's LAN address; with {@code --snat-subnet-routes=false} the client's tailnet
 * address (srv routes back through r). Forwarding off on the router is warned about, naming the sysctl.
 */
@Tag("netns")
@Timeout(400)
class AgentSubnetRouterTest {
    static final String SUBNET = "192.168.77.0/24", SRV = "192.168.77.10", ROUTER_LAN = "192.168.77.1";

    static final String POLICY = """
            {
              "tagOwners": {"tag:router": ["alice@"], "tag:client": ["alice@"], "tag:other": ["alice@"]},
              "autoApprovers": {"routes": {"192.168.77.0/24": ["tag:router"]}},
              "acls": [
                {"action": "accept", "src": ["tag:client"], "dst": ["192.168.77.0/24:*"]},
                {"action": "accept", "src": ["tag:other"], "dst": ["tag:router:*"]},
              ],
            }
            """;

    /** The lab with the router and its LAN; forwarding still off on the router. */
    static RouterLab labWithRouter() throws Exception {
        RouterLab l = new RouterLab().control(POLICY);
        Host r = l.wanHost("r", 10);
        Host srv = l.lab.host("srv");
        Link lan = l.lab.link(r, "lan77", srv, "eth0");
        r.addAddress(lan.aDev(), ROUTER_LAN + "/24");
        srv.addAddress(lan.bDev(), SRV + "/24").defaultRoute(ROUTER_LAN);
        l.servers.add(RouterLab.whoamiServer(srv, SRV));
        r.sysctl("net.ipv4.ip_forward", "0");
        return l;
    }

    @Test
    void latticedRoutesItsLanForAllowedClientsWithAndWithoutSnat() throws Exception {
        TailnetNode.Binaries ours = TailnetNode.lattice();
        try (RouterLab l = labWithRouter()) {
            Host r = l.lab.hosts().stream().filter(h -> h.name().equals("r")).findFirst().orElseThrow();
            TailnetNode router = l.join(ours, r, l.key("tag:router"), "r", "--advertise-routes=" + SUBNET);
            // Forwarding is off: up said so, naming the sysctl, and status keeps saying it.
            var again = router.cli(Duration.ofSeconds(30), "set", "--advertise-routes=" + SUBNET);
            assertThat(again.stdout()).contains("Warning: IP forwarding is disabled, subnet routing/exit nodes will not work"
                    + " (sysctl net.ipv4.ip_forward is 0).");
            RouterLab.await("the forwarding warning in status", Duration.ofSeconds(10),
                    () -> router.cli(Duration.ofSeconds(10), "status").stdout().contains("IP forwarding is disabled")
                            && router.cli(Duration.ofSeconds(10), "status").stdout().contains("net.ipv4.ip_forward"));
            r.enableForwarding();
            assertThat(router.cli(Duration.ofSeconds(30), "set", "--advertise-routes=" + SUBNET).stdout()).doesNotContain("Warning");
            assertThat(router.cli(Duration.ofSeconds(10), "status").stdout()).doesNotContain("IP forwarding is disabled");

            TailnetNode c = l.join(ours, l.wanHost("c", 11), l.key("tag:client"), "c", "--accept-routes");
            TailnetNode o = l.join(ours, l.wanHost("o", 12), l.key("tag:other"), "o", "--accept-routes");
            c.await("r's subnet in c's AllowedIPs", Duration.ofSeconds(30),
                    n -> AgentPolicySubnetTest.allowedIps(n, "r").contains(SUBNET));

            // Source NAT (the default): the LAN host sees the router's LAN address.
            assertThat(RouterLab.awaitWhoami(c.host, SRV, ROUTER_LAN, Duration.ofSeconds(20)))
                    .as(() -> "c -> srv through r, SNAT\n" + RouterLab.debug(router) + "\n" + RouterLab.debug(c)).isEqualTo(ROUTER_LAN);
            assertThat(r.exec("nft", "list", "table", "inet", "lattice").stdout()).contains("masquerade");

            // Without it: the client's own tailnet address.
            assertThat(router.cli(Duration.ofSeconds(30), "set", "--snat-subnet-routes=false").ok()).isTrue();
            String ipC = c.ipv4();
            assertThat(RouterLab.awaitWhoami(c.host, SRV, ipC, Duration.ofSeconds(10))).as("c -> srv, no SNAT").isEqualTo(ipC);
            System.out.println("[e2e] subnet router: c reaches " + SRV + " as " + ROUTER_LAN + " (SNAT) and as " + ipC + " (no SNAT)");

            // tag:other may reach the router itself, not the subnet: the router's filter, whatever o's routes say.
            String ipR = router.ipv4();
            l.servers.add(RouterLab.whoamiServer(r, ipR));
            assertThat(RouterLab.awaitWhoami(o.host, ipR, o.ipv4(), Duration.ofSeconds(20))).as("o -> r itself").isEqualTo(o.ipv4());
            assertThat(AgentPolicyTest.tcp(o.host, SRV)).as("o -> srv").isFalse();
            assertThat(AgentPolicySubnetTest.allowedIps(o, "r")).as("o does not get the route").doesNotContain(SUBNET);

            // Shields up on the router: no new connections in, to the LAN or to itself.
            assertThat(router.cli(Duration.ofSeconds(30), "set", "--shields-up").ok()).isTrue();
            assertThat(RouterLab.whoami(c.host, SRV)).as("shields up").isNull();
            assertThat(router.cli(Duration.ofSeconds(30), "set", "--shields-up=false").ok()).isTrue();
            assertThat(RouterLab.awaitWhoami(c.host, SRV, ipC, Duration.ofSeconds(10))).isEqualTo(ipC);
        }
    }

    @Test
    void anOfficialClientUsesALatticedRouter() throws Exception {
        TailnetNode.Binaries official = TailnetNode.official(), ours = TailnetNode.lattice();
        try (RouterLab l = labWithRouter()) {
            Host r = l.lab.hosts().stream().filter(h -> h.name().equals("r")).findFirst().orElseThrow();
            r.enableForwarding();
            TailnetNode router = l.join(ours, r, l.key("tag:router"), "r", "--advertise-routes=" + SUBNET);
            TailnetNode c = l.join(official, l.wanHost("oc", 13), l.key("tag:client"), "oc", "--accept-routes");
            c.await("r's subnet in oc's AllowedIPs", Duration.ofSeconds(30),
                    n -> AgentPolicySubnetTest.allowedIps(n, "r").contains(SUBNET));
            assertThat(RouterLab.awaitWhoami(c.host, SRV, ROUTER_LAN, Duration.ofSeconds(20)))
                    .as(() -> "official -> srv through latticed r, SNAT\n" + RouterLab.debug(router)).isEqualTo(ROUTER_LAN);
            assertThat(router.cli(Duration.ofSeconds(30), "set", "--snat-subnet-routes=false").ok()).isTrue();
            String ip = c.ipv4();
            assertThat(RouterLab.awaitWhoami(c.host, SRV, ip, Duration.ofSeconds(10))).isEqualTo(ip);
            System.out.println("[e2e] subnet router: official client reaches " + SRV + " through latticed, with and without SNAT");
        }
    }
}
