package dev.lattice.agent.netmap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.DERPHomeParams;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DERPRegion;
import dev.lattice.wire.tailcfg.DNSConfig;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.PeerChange;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.tailcfg.UserProfile;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.node.JsonNodeFactory;

/** How full and delta map responses turn into network maps, as tailscale's mapSession applies them. */
class NetworkMapBuilderTest {
    static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");
    final NetworkMapBuilder b = new NetworkMapBuilder(Clock.fixed(NOW, ZoneOffset.UTC));

    static Node node(long id) {
        return Node.builder().id(id).name("n" + id + ".tailnet.test.").key(NodePrivateKey.generate().publicKey())
                .homeDerpRegion(1).build();
    }

    static MapResponse.Builder full(Node self, Node... peers) {
        return MapResponse.builder().node(self).peers(List.of(peers));
    }

    static DERPRegion region(int id) {
        return new DERPRegion(id, "r" + id, "R" + id, null, null, null, null, List.of());
    }

    static List<Long> ids(NetworkMap m) {
        return m.peers().stream().map(Node::id).toList();
    }

    static FilterRule rule(String src) {
        return new FilterRule(List.of(src), null, List.of(), null, null);
    }

    @Test
    void firstMessageMustCarryTheSelfNode() {
        assertThatThrownBy(() -> b.apply(MapResponse.builder().peers(List.of(node(2))).build()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("Node");
        assertThat(b.current()).isNull();
    }

    @Test
    void keepAlivesChangeNothing() {
        NetworkMap m = b.apply(full(node(1), node(2)).build());
        assertThat(b.apply(MapResponse.builder().keepAlive(true).build())).isNull();
        assertThat(b.current()).isSameAs(m);
        // a keep-alive before the first Node is not an error either
        assertThat(new NetworkMapBuilder().apply(MapResponse.builder().keepAlive(true).build())).isNull();
    }

    @Test
    void fullMapGivesSelfPeersSortedByIdAndTheRest() {
        DNSConfig dns = DNSConfig.builder().domains(List.of("tailnet.test")).build();
        DERPMap dm = new DERPMap(null, Map.of(999, region(999)), null);
        NetworkMap m = b.apply(full(node(1), node(7), node(3), node(5)).dnsConfig(dns).derpMap(dm).domain("tailnet.test")
                .packetFilter(List.of(rule("*"))).userProfiles(List.of(new UserProfile(9L, "a@x", "A", null, null)))
                .controlTime(NOW).build());
        assertThat(m.self().id()).isEqualTo(1);
        assertThat(ids(m)).containsExactly(3L, 5L, 7L);
        assertThat(m.dns()).isEqualTo(dns);
        assertThat(m.derpMap()).isEqualTo(dm);
        assertThat(m.domain()).isEqualTo("tailnet.test");
        assertThat(m.packetFilter()).containsExactly(rule("*"));
        assertThat(m.userProfiles()).containsOnlyKeys(9L);
        assertThat(m.controlTime()).isEqualTo(NOW);
    }

    @Test
    void absentComponentsAreUnchanged() {
        DNSConfig dns = DNSConfig.builder().domains(List.of("a")).build();
        NetworkMap first = b.apply(full(node(1), node(2)).dnsConfig(dns).domain("d").packetFilter(List.of(rule("*")))
                .userProfiles(List.of(new UserProfile(9L, "a@x", "A", null, null))).build());
        NetworkMap next = b.apply(MapResponse.builder().peersChanged(List.of(node(4))).build());
        assertThat(next.self()).isEqualTo(first.self());
        assertThat(next.dns()).isEqualTo(dns);
        assertThat(next.domain()).isEqualTo("d");
        assertThat(next.packetFilter()).containsExactly(rule("*"));
        assertThat(next.userProfiles()).containsOnlyKeys(9L);
        // user profiles accumulate
        NetworkMap more = b.apply(MapResponse.builder().userProfiles(List.of(new UserProfile(10L, "b@x", "B", null, null))).build());
        assertThat(more.userProfiles()).containsOnlyKeys(9L, 10L);
    }

    @Test
    void selfNodeIsReplacedWhenPresent() {
        b.apply(full(node(1)).build());
        Node changed = node(1).toBuilder().name("renamed.tailnet.test.").build();
        assertThat(b.apply(MapResponse.builder().node(changed).build()).self().name()).isEqualTo("renamed.tailnet.test.");
    }

    @Test
    void peersReplacesTheWholeSetAndPrecludesOtherDeltas() {
        b.apply(full(node(1), node(2), node(3)).build());
        NetworkMap m = b.apply(MapResponse.builder().peers(List.of(node(4), node(3)))
                .peersRemoved(List.of(3L)).peersChanged(List.of(node(9))).build());
        assertThat(ids(m)).containsExactly(3L, 4L);
    }

    @Test
    void peersChangedAddsOrReplacesAndPeersRemovedDeletes() {
        b.apply(full(node(1), node(2), node(3)).build());
        Node two = node(2).toBuilder().name("two.").build();
        NetworkMap m = b.apply(MapResponse.builder().peersChanged(List.of(node(5), two)).peersRemoved(List.of(3L, 42L)).build());
        assertThat(ids(m)).containsExactly(2L, 5L);
        assertThat(m.peers().getFirst().name()).isEqualTo("two.");
    }

    @Test
    void removeThenChangeInOneMessageReAddsAsTailscaleDoes() {
        b.apply(full(node(1), node(2)).build());
        NetworkMap m = b.apply(MapResponse.builder().peersRemoved(List.of(2L)).peersChanged(List.of(node(2))).build());
        assertThat(ids(m)).containsExactly(2L);
    }

    @Test
    void onlineAndSeenChanges() {
        b.apply(full(node(1), node(2), node(3)).build());
        Map<Long, Boolean> online = new HashMap<>(Map.of(2L, true, 3L, false, 99L, true));
        NetworkMap m = b.apply(MapResponse.builder().onlineChange(online).build());
        assertThat(m.peers().get(0).online()).isTrue();
        assertThat(m.peers().get(1).online()).isFalse();
        assertThat(ids(m)).containsExactly(2L, 3L); // unknown id 99 ignored, not added

        m = b.apply(MapResponse.builder().peerSeenChange(Map.of(2L, true, 3L, false, 77L, true)).build());
        assertThat(m.peers().get(0).lastSeen()).isEqualTo(NOW);
        assertThat(m.peers().get(1).lastSeen()).isNull();
        assertThat(ids(m)).containsExactly(2L, 3L);
    }

    @Test
    void patchesChangeOnlyTheirFields() {
        Node two = node(2).toBuilder().endpoints(List.of(AddrPort.parse("192.0.2.1:1"))).online(false)
                .keyExpiry(NOW.plusSeconds(60)).cap(100).build();
        b.apply(full(node(1), two).build());
        var disco = DiscoPrivateKey.generate().publicKey();
        var key = NodePrivateKey.generate().publicKey();
        var cap = Map.of("cap/x", List.<tools.jackson.databind.JsonNode>of(JsonNodeFactory.instance.textNode("v")));
        PeerChange pc = PeerChange.builder().nodeId(2L).derpRegion(7).endpoints(List.of(AddrPort.parse("198.51.100.2:41641")))
                .discoKey(disco).key(key).online(true).lastSeen(NOW.minusSeconds(5)).keyExpiry(NOW.plusSeconds(3600))
                .capMap(cap).cap(120).build();
        Node p = b.apply(MapResponse.builder().peersChangedPatch(List.of(pc, PeerChange.builder().nodeId(404L).online(true).build()))
                .build()).peers().getFirst();
        assertThat(p.derpRegion()).isEqualTo(7);
        assertThat(p.legacyDerp()).isEqualTo(Tailcfg.legacyDerp(7));
        assertThat(p.endpoints()).containsExactly(AddrPort.parse("198.51.100.2:41641"));
        assertThat(p.discoKey()).isEqualTo(disco);
        assertThat(p.key()).isEqualTo(key);
        assertThat(p.online()).isTrue();
        assertThat(p.lastSeen()).isEqualTo(NOW.minusSeconds(5));
        assertThat(p.keyExpiry()).isEqualTo(NOW.plusSeconds(3600));
        assertThat(p.capMap()).isEqualTo(cap);
        assertThat(p.cap()).isEqualTo(120);
        assertThat(p.name()).isEqualTo(two.name());
        assertThat(b.current().peers()).hasSize(1);

        // an empty patch (and zero DERPRegion/Cap) changes nothing
        Node same = b.apply(MapResponse.builder().peersChangedPatch(List.of(PeerChange.builder().nodeId(2L).derpRegion(0).cap(0).build()))
                .build()).peers().getFirst();
        assertThat(same).isEqualTo(p);
        // an explicitly empty endpoint list clears them
        assertThat(b.apply(MapResponse.builder().peersChangedPatch(List.of(PeerChange.builder().nodeId(2L).endpoints(List.of()).build()))
                .build()).peers().getFirst().endpoints()).isEmpty();
    }

    @Test
    void namedPacketFilterChunks() {
        b.apply(full(node(1)).packetFilter(List.of(rule("base"))).build());
        NetworkMap m = b.apply(MapResponse.builder().packetFilters(map("b", List.of(rule("b")), "a", List.of(rule("a")))).build());
        assertThat(m.packetFilter()).containsExactly(rule("a"), rule("b"), rule("base")); // chunks in name order
        m = b.apply(MapResponse.builder().packetFilters(map("a", null)).build());
        assertThat(m.packetFilter()).containsExactly(rule("b"), rule("base"));
        m = b.apply(MapResponse.builder().packetFilters(map("*", null, "z", List.of(rule("z")))).build());
        assertThat(m.packetFilter()).containsExactly(rule("z"));
        // the older single blob is the "base" chunk
        m = b.apply(MapResponse.builder().packetFilter(List.of(rule("new"))).build());
        assertThat(m.packetFilter()).containsExactly(rule("new"), rule("z"));
        // an empty filter list is "deny all", not "unchanged"
        m = b.apply(MapResponse.builder().packetFilters(map("*", null)).build());
        assertThat(m.packetFilter()).isEmpty();
    }

    @Test
    void derpMapWithoutRegionsKeepsThePreviousRegions() {
        DERPMap dm = new DERPMap(null, Map.of(999, region(999)), null);
        b.apply(full(node(1)).derpMap(dm).build());
        DERPHomeParams hp = new DERPHomeParams(Map.of(999, 0.5));
        NetworkMap m = b.apply(MapResponse.builder().derpMap(new DERPMap(hp, null, null)).build());
        assertThat(m.derpMap().regions()).containsOnlyKeys(999);
        assertThat(m.derpMap().homeParams()).isEqualTo(hp);
        DERPMap other = new DERPMap(null, Map.of(900, region(900)), null);
        m = b.apply(MapResponse.builder().derpMap(other).build());
        assertThat(m.derpMap().regions()).containsOnlyKeys(900);
        assertThat(m.derpMap().homeParams()).isEqualTo(hp);
    }

    @Test
    void theJsonOfARealStreamMessageDecodesAndApplies() throws Exception {
        String k = NodePrivateKey.generate().publicKey().toString();
        String json = """
                {"Node":{"ID":1,"Name":"self.t.","Key":"%s","Addresses":["100.64.0.1/32"],"MachineAuthorized":true},
                 "Peers":[{"ID":3,"Name":"p.t.","Key":"%s","HomeDERP":999}],
                 "PacketFilters":{"base":[{"SrcIPs":["*"],"DstPorts":[{"IP":"*","Ports":{"First":0,"Last":65535}}]}]},
                 "Domain":"t"}""".formatted(k, k);
        NetworkMap m = b.apply(Tailcfg.json().readValue(json, MapResponse.class));
        assertThat(m.self().addresses()).hasSize(1);
        assertThat(m.peers().getFirst().derpRegion()).isEqualTo(999);
        assertThat(m.packetFilter()).hasSize(1);
        // and a delta with an unknown PeersChangedPatch field is tolerated
        m = b.apply(Tailcfg.json().readValue("{\"PeersChangedPatch\":[{\"NodeID\":3,\"Online\":true,\"Future\":1}]}", MapResponse.class));
        assertThat(m.peers().getFirst().online()).isTrue();
    }

    /** Random sequences of deltas agree with a simple model of the peer set. */
    @ParameterizedTest
    @MethodSource("seeds")
    void randomDeltasMatchAModel(long seed) {
        Random rnd = new Random(seed);
        TreeMap<Long, Boolean> model = new TreeMap<>(); // id -> online
        b.apply(full(node(1)).build());
        for (int step = 0; step < 200; step++) {
            MapResponse.Builder r = MapResponse.builder();
            switch (rnd.nextInt(5)) {
                case 0 -> {
                    List<Node> all = new ArrayList<>();
                    model.clear();
                    for (int i = rnd.nextInt(6); i > 0; i--) {
                        long id = 2 + rnd.nextInt(20);
                        all.add(node(id));
                        model.put(id, null);
                    }
                    r.peers(all);
                }
                case 1 -> {
                    long id = 2 + rnd.nextInt(20);
                    r.peersChanged(List.of(node(id)));
                    model.put(id, null);
                }
                case 2 -> {
                    long id = 2 + rnd.nextInt(20);
                    r.peersRemoved(List.of(id));
                    model.remove(id);
                }
                case 3 -> {
                    long id = 2 + rnd.nextInt(20);
                    boolean on = rnd.nextBoolean();
                    r.onlineChange(Map.of(id, on));
                    if (model.containsKey(id)) model.put(id, on); // computeIfPresent treats a null value as absent
                }
                default -> {
                    long id = 2 + rnd.nextInt(20);
                    boolean on = rnd.nextBoolean();
                    r.peersChangedPatch(List.of(PeerChange.builder().nodeId(id).online(on).build()));
                    if (model.containsKey(id)) model.put(id, on); // computeIfPresent treats a null value as absent
                }
            }
            NetworkMap m = b.apply(r.build());
            assertThat(ids(m)).containsExactlyElementsOf(model.keySet());
            for (Node n : m.peers()) assertThat(n.online()).isEqualTo(model.get(n.id()));
        }
    }

    static Stream<Long> seeds() {
        return Stream.of(1L, 2L, 3L, 42L, 20260101L);
    }

    private static Map<String, List<FilterRule>> map(Object... kv) {
        Map<String, List<FilterRule>> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            @SuppressWarnings("unchecked")
            List<FilterRule> v = (List<FilterRule>) kv[i + 1];
            m.put((String) kv[i], v);
        }
        return m;
    }
}
