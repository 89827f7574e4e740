package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.magicsock.TailnetAddrs;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import dev.lattice.wire.ip.IpPrefix;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;

/**
 * Two latticed hosts join the official Headscale (a control server we did not write) with a reusable pre-auth
 * key, see each other, and ping each other both ways directly and, with their UDP to each other dropped by
 * nftables, via Headscale's embedded DERP relay. Skipped visibly unless LATTICE_HEADSCALE names the binary.
 * The server_url is plain HTTP, so the daemons run with TS_DEBUG_USE_DERP_HTTP=1.
 *
 * <p>The endpoint check guards a bug this test first found: latticed advertised its own tailnet addresses as
 * endpoints, so once the LAN path was dropped a disco ping to {@code 100.64.0.x:41641} "proved" a path through its
 * own tunnel and WireGuard packets looped.
 */
@Tag("netns")
@Timeout(360)
class AgentHeadscaleInteropTest {
    static final String BLOCK_PEER_UDP = """
            table inet peerblock {
              chain out {
                type filter hook output priority 0; policy accept;
                ip daddr 10.83.0.0/24 ip daddr != 10.83.0.1 udp dport != 53 drop
              }
            }
            """;

    @Test
    void twoLatticedsOnHeadscalePingEachOtherDirectlyAndViaDerp() throws Exception {
        Path headscale = HeadscaleServer.binary();
        TailnetNode.Binaries ours = TailnetNode.lattice();
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("hs"), h1 = lab.host("h1"), h2 = lab.host("h2");
            lan.connect(ctl);
            lan.connect(h1);
            lan.connect(h2);
            ctl.addAddress("eth0", "10.83.0.1/24");
            h1.addAddress("eth0", "10.83.0.11/24");
            h2.addAddress("eth0", "10.83.0.12/24");
            Map<String, String> env = Map.of("TS_DEBUG_USE_DERP_HTTP", "1");
            try (HeadscaleServer server = HeadscaleServer.start(headscale, ctl, "10.83.0.1", lab.workDir().resolve("headscale"))) {
                String key = server.reusableKey(server.createUser("alice"));
                try (TailnetNode a = TailnetNode.start(ours, h1, lab.workDir().resolve("a"), env);
                        TailnetNode b = TailnetNode.start(ours, h2, lab.workDir().resolve("b"), env)) {
                    assertThat(a.up(server.url(), key, "a").ok())
                            .as(() -> "a up\n" + a.daemon.tail(60) + "\nheadscale:\n" + server.process.tail(40)).isTrue();
                    assertThat(b.up(server.url(), key, "b").ok())
                            .as(() -> "b up\n" + b.daemon.tail(60) + "\nheadscale:\n" + server.process.tail(40)).isTrue();
                    a.await("b in a's status", Duration.ofSeconds(20), n -> n.peerHostNames().contains("b"));
                    b.await("a in b's status", Duration.ofSeconds(20), n -> n.peerHostNames().contains("a"));
                    String ipA = a.ipv4(), ipB = b.ipv4();
                    assertThat(a.status().path("MagicDNSSuffix").asString()).as("MagicDNS suffix from our node name").isEqualTo("tailnet.test");
                    assertThat(ipA).as("a's address from headscale's v4 prefix").startsWith("100.");
                    assertThat(ipB).as("b's address").startsWith("100.").isNotEqualTo(ipA);

                    System.out.println("[headscale] a -> b: " + a.awaitDirect(ipB, Duration.ofSeconds(30)));
                    System.out.println("[headscale] b -> a: " + b.awaitDirect(ipA, Duration.ofSeconds(30)));
                    assertThat(TailnetNode.icmp(h1, ipB, Duration.ofSeconds(15))).as("ICMP a -> b").isTrue();
                    assertThat(TailnetNode.icmp(h2, ipA, Duration.ofSeconds(15))).as("ICMP b -> a").isTrue();

                    // Like tailscaled (netmon.LocalAddresses skips tsaddr.IsTailscaleIP), a node must not offer its
                    // tailnet addresses as endpoints: a disco ping to one travels inside the tunnel, comes back with a
                    // pong, and the "direct" path it proves loops WireGuard packets through the node's own TUN.
                    assertThat(peerAddrs(a, "b")).as("b's endpoints as a sees them").noneMatch(AgentHeadscaleInteropTest::tailnetAddr);
                    assertThat(peerAddrs(b, "a")).as("a's endpoints as b sees them").noneMatch(AgentHeadscaleInteropTest::tailnetAddr);

                    // Drop their UDP to each other: both fall back to headscale's embedded DERP relay.
                    h1.nft(BLOCK_PEER_UDP);
                    h2.nft(BLOCK_PEER_UDP);
                    TailnetNode.Pong viaDerp1 = AgentTailscaleInteropTest.awaitDerp(a, ipB);
                    TailnetNode.Pong viaDerp2 = AgentTailscaleInteropTest.awaitDerp(b, ipA);
                    System.out.println("[headscale] a -> b (UDP dropped): " + viaDerp1);
                    System.out.println("[headscale] b -> a (UDP dropped): " + viaDerp2);
                    assertThat(viaDerp1.via()).as("relay region").isEqualTo("DERP(headscale)");
                    assertThat(TailnetNode.icmp(h1, ipB, Duration.ofSeconds(15))).as("ICMP a -> b via DERP").isTrue();
                    assertThat(TailnetNode.icmp(h2, ipA, Duration.ofSeconds(15))).as("ICMP b -> a via DERP").isTrue();
                }
            }
        }
    }

    /** The endpoints ("Addrs") {@code n}'s status lists for the peer named {@code host}. */
    static List<String> peerAddrs(TailnetNode n, String host) {
        for (JsonNode p : n.status().path("Peer")) {
            if (host.equals(p.path("HostName").asString())) {
                List<String> out = new ArrayList<>();
                p.path("Addrs").forEach(a -> out.add(a.asString()));
                return out;
            }
        }
        throw new AssertionError(host + " not in " + n.host.name() + "'s status");
    }

    /** "ip:port" or "[ip]:port" in 100.64.0.0/10 or fd7a:115c:a1e0::/48 (Tailscale's tsaddr ranges). */
    static boolean tailnetAddr(String addrPort) {
        String ip = addrPort.startsWith("[") ? addrPort.substring(1, addrPort.indexOf(']'))
                : addrPort.substring(0, addrPort.lastIndexOf(':'));
        return TailnetAddrs.contains(IpPrefix.parse(ip).address());
    }
}
