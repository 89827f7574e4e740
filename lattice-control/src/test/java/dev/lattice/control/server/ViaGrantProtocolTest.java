package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Node;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Grants with {@code via} over ts2021 (Tailscale's crossed steering, via-grant-v29): two routers serve the same subnet;
 * group A is steered through router X and group B through router Y. Each client sees both routers but the subnet on
 * its own router only, whichever of the two is the HA primary; swapping the grants, or a router withdrawing the subnet,
 * moves it in the clients' netmaps by deltas.
 */
@Timeout(60)
class ViaGrantProtocolTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final IpPrefix SUBNET = IpPrefix.parse("10.44.0.0/16");

    static String policy(String viaA, String viaB) {
        return """
                {
                  "tagOwners": {"tag:router-x": ["alice@"], "tag:router-y": ["alice@"], "tag:group-a": ["alice@"], "tag:group-b": ["alice@"]},
                  "autoApprovers": {"routes": {"10.44.0.0/16": ["tag:router-x", "tag:router-y"]}},
                  "grants": [
                    {"src": ["tag:group-a", "tag:group-b"], "dst": ["tag:router-x", "tag:router-y"], "ip": ["*"]},
                    {"src": ["tag:group-a"], "dst": ["10.44.0.0/16"], "ip": ["*"], "via": ["%s"]},
                    {"src": ["tag:group-b"], "dst": ["10.44.0.0/16"], "ip": ["*"], "via": ["%s"]},
                  ],
                }
                """.formatted(viaA, viaB);
    }

    @TempDir
    Path dir;
    PolicyTailnet tailnet;
    ControlServer server;

    @AfterEach
    void stop() {
        if (tailnet != null) tailnet.close();
    }

    @Test
    void eachGroupSeesTheSubnetOnItsOwnRouterOnly() throws Exception {
        tailnet = PolicyTailnet.start(dir, policy("tag:router-x", "tag:router-y"));
        server = tailnet.server();
        String key = tailnet.aliceKey();
        try (TestMachine x = tailnet.machine("router-x");
             TestMachine y = tailnet.machine("router-y");
             TestMachine a = tailnet.machine("client-a");
             TestMachine b = tailnet.machine("client-b")) {
            x.hostinfoExtra = h -> h.withRequestTags(List.of("tag:router-x")).withRoutableIps(List.of(SUBNET));
            y.hostinfoExtra = h -> h.withRequestTags(List.of("tag:router-y")).withRoutableIps(List.of(SUBNET));
            a.hostinfoExtra = h -> h.withRequestTags(List.of("tag:group-a"));
            b.hostinfoExtra = h -> h.withRequestTags(List.of("tag:group-b"));
            // x first: it is the HA primary for the subnet, so B's route through y is the via grant's doing.
            for (TestMachine m : List.of(x, y, a, b)) {
                assertThat(m.register(key).error()).isNull();
                m.openStream();
            }
            a.awaitView(WAIT, v -> routes(v, "router-x").equals(List.of(SUBNET)) && routes(v, "router-y").isEmpty());
            b.awaitView(WAIT, v -> routes(v, "router-y").equals(List.of(SUBNET)) && routes(v, "router-x").isEmpty());
            assertThat(a.view.peer("router-x").primaryRoutes()).containsExactly(SUBNET);
            assertThat(b.view.peer("router-y").primaryRoutes()).containsExactly(SUBNET);
            assertThat(b.view.peer("router-x").primaryRoutes()).isNullOrEmpty();
            // The rule is on the router the group goes through, from that group only.
            String aIp = IpPrefix.format(server.tailnet().nodes().stream().filter(n -> n.hostname().equals("client-a")).findFirst()
                    .orElseThrow().ipv4());
            x.awaitView(WAIT, v -> v.filter.stream().anyMatch(r -> r.srcIps().contains(aIp)
                    && r.dstPorts().stream().anyMatch(d -> d.ip().equals("10.44.0.0/16"))));
            assertThat(x.view.filter.stream().flatMap(r -> r.dstPorts().stream()).filter(d -> d.ip().equals("10.44.0.0/16"))
                    .count()).isEqualTo(1);

            // Swap: A through y, B through x. The clients are told by deltas.
            server.adminApi().setPolicy(policy("tag:router-y", "tag:router-x"));
            a.awaitView(WAIT, v -> routes(v, "router-y").equals(List.of(SUBNET)) && routes(v, "router-x").isEmpty());
            b.awaitView(WAIT, v -> routes(v, "router-x").equals(List.of(SUBNET)) && routes(v, "router-y").isEmpty());

            // A's router stops serving the subnet: A has it nowhere (x is not A's router), B keeps it; then back.
            y.hostinfoExtra = h -> h.withRequestTags(List.of("tag:router-y"));
            assertThat(y.post("/machine/map", y.mapRequest().stream(false).omitPeers(true).build()).status()).isEqualTo(200);
            a.awaitView(WAIT, v -> routes(v, "router-y").isEmpty() && routes(v, "router-x").isEmpty());
            b.awaitView(WAIT, v -> routes(v, "router-x").equals(List.of(SUBNET)));
            y.hostinfoExtra = h -> h.withRequestTags(List.of("tag:router-y")).withRoutableIps(List.of(SUBNET));
            assertThat(y.post("/machine/map", y.mapRequest().stream(false).omitPeers(true).build()).status()).isEqualTo(200);
            a.awaitView(WAIT, v -> routes(v, "router-y").equals(List.of(SUBNET)) && routes(v, "router-x").isEmpty());
        }
    }

    /** The peer's AllowedIPs beyond its addresses; null-safe for a peer not (yet) in the map. */
    private static List<IpPrefix> routes(TestMachine.View v, String name) {
        Node n = v.peer(name);
        if (n == null) return List.of(IpPrefix.parse("0.0.0.0/32")); // absent: never equals what a test waits for
        return n.allowedIps().stream().filter(p -> !n.addresses().contains(p)).toList();
    }
}
