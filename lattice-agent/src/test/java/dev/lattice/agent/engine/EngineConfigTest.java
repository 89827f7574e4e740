package dev.lattice.agent.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.netmap.NetworkMap;
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
    void aPeersOwnAddressesAreAllowedAndTheTailnetRangesRouted() {
        EngineConfig c = EngineConfig.from(map(self, node(2, peerKey, "100.64.0.2/32", "fd7a:115c:a1e0::2/128")), false, NOW);
        assertThat(c.peers()).containsExactly(new EngineConfig.Peer(peerKey, prefixes("100.64.0.2/32", "fd7a:115c:a1e0::2/128")));
        assertThat(c.router().localAddrs()).isEqualTo(prefixes("100.64.0.1/32", "fd7a:115c:a1e0::1/128"));
        assertThat(c.router().routes()).containsExactly(EngineConfig.TAILNET_V4, EngineConfig.TAILNET_V6);
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
    }

    @Test
    void aSingleAddressOutsideTheTailnetIsASubnetRouteToo() {
        Node n = node(2, peerKey, "100.64.0.2/32", "10.1.2.3/32");
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
