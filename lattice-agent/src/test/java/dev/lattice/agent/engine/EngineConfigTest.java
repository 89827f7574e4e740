package dev.lattice.agent.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.agent.router.RouterConfig;
import dev.lattice.agent.system.HostEnv;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Node;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A network map becomes WireGuard peers and host routes as tailscale's nmcfg does it. */
class EngineConfigTest {
    static final Instant NOW = Instant.parse("2026-11-23T12:00:00Z");

    static List<IpPrefix> prefixes(String... p) {
        return java.util.Arrays.stream(p).map(IpPrefix::parse).toList();
    }

    static Node node(long id, NodePublicKey key, String... allowed) {
        return Node.builder().id(id).key(key).addresses(prefixes(allowed).subList(0, Math.min(2, allowed.length)))
                .allowedIps(prefixes(allowed)).build();
    }

    static NetworkMap map(Node self, Node... peers) {
        return new NetworkMap(self, List.of(peers), null, null, List.of(), Map.of(), "example.com", null);
    }

    final Node self = node(1, NodePrivateKey.generate().publicKey(), "100.64.0.1/32", "fd7a:115c:a1e0::1/128");
    final NodePublicKey peerKey = NodePrivateKey.generate().publicKey();

    @Test
    void aPeersOwnAddressesAreAllowedAndEachPeerIsRouted() {
        EngineConfig c = EngineConfig.from(map(self, node(2, peerKey, "100.64.0.2/32", "fd7a:115c:a1e0::2/128")), false, NOW);
        assertThat(c.peers()).containsExactly(new EngineConfig.Peer(peerKey, prefixes("100.64.0.2/32", "fd7a:115c:a1e0::2/128")));
        assertThat(c.router().localAddrs()).isEqualTo(prefixes("100.64.0.1/32", "fd7a:115c:a1e0::1/128"));
        // tailscaled: each peer's IPv4 as a /32 (an address no peer has is unreachable at once), the IPv6 range,
        // and MagicDNS's service addresses.
        assertThat(c.router().routes()).containsExactlyInAnyOrder(IpPrefix.parse("100.64.0.2/32"), EngineConfig.TAILNET_V6,
                EngineConfig.SERVICE_V4, EngineConfig.SERVICE_V6);
        assertThat(c.router().routes()).doesNotContain(EngineConfig.TAILNET_V4);
        assertThat(c.exitNode()).isNull();
    }

    @Test
    void beyondTenThousandPeersTheWholeTailnetRangeIsOneRoute() {
        for (int n : new int[] {EngineConfig.CGNAT_THRESHOLD, EngineConfig.CGNAT_THRESHOLD + 1}) {
            List<Node> peers = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                peers.add(node(10 + i, peerKey, "100.65." + (i >> 8) + "." + (i & 0xff) + "/32"));
            }
            var routes = EngineConfig.from(new NetworkMap(self, peers, null, null, List.of(), Map.of(), "x", null), false, NOW)
                    .router().routes();
            if (n <= EngineConfig.CGNAT_THRESHOLD) {
                assertThat(routes).hasSize(n + 2).doesNotContain(EngineConfig.TAILNET_V4).contains(IpPrefix.parse("100.65.0.0/32"));
            } else {
                assertThat(routes).containsExactlyInAnyOrder(EngineConfig.TAILNET_V4, EngineConfig.SERVICE_V4, EngineConfig.SERVICE_V6);
            }
        }
    }

    final NodePublicKey exitKey = NodePrivateKey.generate().publicKey();
    final NodePublicKey otherExitKey = NodePrivateKey.generate().publicKey();
    final Node exit = node(7, exitKey, "100.64.0.7/32", "fd7a:115c:a1e0::7/128", "0.0.0.0/0", "::/0").toBuilder().stableId("nEXIT").build();
    final Node otherExit = node(8, otherExitKey, "100.64.0.8/32", "0.0.0.0/0", "::/0", "10.8.0.0/16").toBuilder()
            .addresses(prefixes("100.64.0.8/32")).stableId("nOTHER").build();
    static final List<HostEnv.Interface> HOST = List.of(
            new HostEnv.Interface("lo", true, List.of(HostEnv.Address.parse("127.0.0.1/8"), HostEnv.Address.parse("::1/128"))),
            new HostEnv.Interface("eth0", false, List.of(HostEnv.Address.parse("192.168.1.5/24"),
                    HostEnv.Address.parse("2001:db8:1::5/64"), HostEnv.Address.parse("fe80::1/64"))));

    static EngineConfig.Options exitOptions(String id, boolean lan) {
        return new EngineConfig.Options(true, id, true, lan, List.of(), true, HOST);
    }

    @Test
    void theExitNodeInUseGetsTheDefaultRoutesAndTheLanGoesThroughItToo() {
        EngineConfig c = EngineConfig.from(map(self, exit, otherExit), exitOptions("nEXIT", false), NOW);
        assertThat(c.peers()).filteredOn(p -> p.key().equals(exitKey)).singleElement()
                .extracting(EngineConfig.Peer::allowedIps).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.LIST)
                .contains(EngineConfig.ALL_V4, EngineConfig.ALL_V6);
        assertThat(c.peers()).filteredOn(p -> p.key().equals(otherExitKey)).singleElement().extracting(EngineConfig.Peer::allowedIps)
                .asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.LIST)
                .as("another exit node: its subnet (accept-routes) but no default route").contains(IpPrefix.parse("10.8.0.0/16"))
                .doesNotContain(EngineConfig.ALL_V4, EngineConfig.ALL_V6);
        assertThat(c.exitNode()).isEqualTo(new EngineConfig.ExitNode("nEXIT", exitKey, prefixes("100.64.0.7/32", "fd7a:115c:a1e0::7/128"), null));
        assertThat(c.router().routes()).contains(EngineConfig.ALL_V4, EngineConfig.ALL_V6)
                .as("the LAN goes through the exit node too, so nothing leaks").contains(prefixes("192.168.1.0/24", "2001:db8:1::/64").toArray(IpPrefix[]::new))
                .doesNotContain(IpPrefix.parse("fe80::/64"));
        assertThat(c.router().localRoutes()).as("loopback stays local").containsExactly(IpPrefix.parse("127.0.0.0/8"));
    }

    @Test
    void withLanAccessTheLanGetsThrowRoutesToTheMainTable() {
        EngineConfig c = EngineConfig.from(map(self, exit), exitOptions("nEXIT", true), NOW);
        assertThat(c.router().localRoutes()).containsExactly(IpPrefix.parse("127.0.0.0/8"), IpPrefix.parse("192.168.1.0/24"),
                IpPrefix.parse("2001:db8:1::/64"));
        assertThat(c.router().routes()).contains(EngineConfig.ALL_V4).doesNotContain(IpPrefix.parse("192.168.1.0/24"));
    }

    @Test
    void anExitNodeNotFoundYetStillTakesTheInternetSoNothingLeaks() {
        for (String id : new String[] {"nGONE", "nOTHER-not-offering"}) {
            Node notOffering = node(9, NodePrivateKey.generate().publicKey(), "100.64.0.9/32").toBuilder().stableId("nOTHER-not-offering").build();
            EngineConfig c = EngineConfig.from(map(self, exit, notOffering), exitOptions(id, false), NOW);
            assertThat(c.exitNode()).isNull();
            assertThat(c.router().routes()).as("tailscale: the exit routes blackhole until the node is there").contains(EngineConfig.ALL_V4, EngineConfig.ALL_V6);
            assertThat(c.peers()).allSatisfy(p -> assertThat(p.allowedIps()).doesNotContain(EngineConfig.ALL_V4));
        }
        EngineConfig none = EngineConfig.from(map(self, exit), EngineConfig.Options.of(true), NOW);
        assertThat(none.router().routes()).doesNotContain(EngineConfig.ALL_V4, EngineConfig.ALL_V6);
        assertThat(none.router().localRoutes()).isEmpty();
    }

    @Test
    void offeredRoutesAndSnatGoToTheRouter() {
        var o = new EngineConfig.Options(false, null, false, false, prefixes("10.1.0.0/24", "0.0.0.0/0", "::/0"), false, HOST);
        RouterConfig rc = EngineConfig.from(map(self), o, NOW).router();
        assertThat(rc.subnetRoutes()).isEqualTo(prefixes("10.1.0.0/24", "0.0.0.0/0", "::/0"));
        assertThat(rc.snatSubnetRoutes()).isFalse();
        assertThat(rc.routes()).as("offering is not using").doesNotContain(EngineConfig.ALL_V4, IpPrefix.parse("10.1.0.0/24"));
    }

    @Test
    void subnetRoutesNeedAcceptRoutesAndExitRoutesAreNeverTakenWithoutAnExitNode() {
        Node router = node(2, peerKey, "100.64.0.2/32", "fd7a:115c:a1e0::2/128", "192.168.50.0/24", "0.0.0.0/0", "::/0");
        EngineConfig without = EngineConfig.from(map(self, router), false, NOW);
        assertThat(without.peers().getFirst().allowedIps()).isEqualTo(prefixes("100.64.0.2/32", "fd7a:115c:a1e0::2/128"));
        assertThat(without.router().routes()).doesNotContain(IpPrefix.parse("192.168.50.0/24"));

        EngineConfig with = EngineConfig.from(map(self, router), true, NOW);
        assertThat(with.peers().getFirst().allowedIps())
                .isEqualTo(prefixes("100.64.0.2/32", "fd7a:115c:a1e0::2/128", "192.168.50.0/24"));
        assertThat(with.router().routes()).contains(IpPrefix.parse("192.168.50.0/24"))
                .doesNotContain(IpPrefix.parse("0.0.0.0/0"), IpPrefix.parse("::/0"));
        assertThat(with.exitNode()).as("offering is not being chosen").isNull();
    }

    @Test
    void aSingleAddressOutsideTheTailnetIsASubnetRouteToo() {
        Node n = node(2, peerKey, "100.64.0.2/32", "10.1.2.3/32").toBuilder().addresses(prefixes("100.64.0.2/32")).build();
        assertThat(EngineConfig.from(map(self, n), false, NOW).peers().getFirst().allowedIps())
                .isEqualTo(prefixes("100.64.0.2/32"));
    }

    @Test
    void expiredAndKeylessPeersAreLeftOut() {
        Node expired = node(2, peerKey, "100.64.0.2/32").toBuilder().keyExpiry(NOW.minusSeconds(1)).build();
        Node flagged = node(3, NodePrivateKey.generate().publicKey(), "100.64.0.3/32").toBuilder().expired(true).build();
        Node keyless = node(4, null, "100.64.0.4/32");
        Node fine = node(5, NodePrivateKey.generate().publicKey(), "100.64.0.5/32").toBuilder()
                .keyExpiry(NOW.plusSeconds(60)).build();
        Node zeroExpiry = node(6, NodePrivateKey.generate().publicKey(), "100.64.0.6/32").toBuilder()
                .keyExpiry(dev.lattice.wire.tailcfg.Tailcfg.ZERO_TIME).build();
        EngineConfig c = EngineConfig.from(map(self, expired, flagged, keyless, fine, zeroExpiry), false, NOW);
        assertThat(c.peers()).extracting(EngineConfig.Peer::key).containsExactly(fine.key(), zeroExpiry.key());
    }
}
