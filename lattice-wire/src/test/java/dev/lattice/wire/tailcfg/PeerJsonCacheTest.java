package dev.lattice.wire.tailcfg;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class PeerJsonCacheTest {
    static Node peer(long id, boolean online) {
        byte[] k = new byte[32];
        k[0] = (byte) id;
        k[31] = 1;
        return Node.builder().id(id).name("n" + id + ".example.ts.net.").key(new NodePublicKey(k))
                .addresses(new ArrayList<>(List.of(IpPrefix.parse("100.64.0." + id + "/32"))))
                .online(online).build();
    }

    static String json(Object v) {
        return Tailcfg.json().writeValueAsString(v);
    }

    @Test
    void peersAreWrittenExactlyAsTheNodesAlone() {
        List<Node> peers = List.of(peer(1, true), peer(2, false), peer(3, true));
        String map = json(MapResponse.builder().peers(peers).peersChanged(List.of(peer(4, true))).build());
        JsonNode tree = Tailcfg.json().readTree(map);
        for (int i = 0; i < peers.size(); i++) {
            assertThat(tree.get("Peers").get(i)).isEqualTo(Tailcfg.json().readTree(json(peers.get(i))));
        }
        assertThat(tree.get("PeersChanged").get(0).get("ID").asLong()).isEqualTo(4);
        // The bytes too, not just the tree: a peer's JSON appears verbatim.
        assertThat(map).contains(json(peers.get(1)));
        assertThat(Tailcfg.json().readValue(map, MapResponse.class).peers()).isEqualTo(peers);
    }

    @Test
    void aChangedNodeIsWrittenAsItIsNow() {
        String before = json(MapResponse.builder().peers(List.of(peer(7, true))).build());
        String after = json(MapResponse.builder().peers(List.of(peer(7, false))).build());
        assertThat(Tailcfg.json().readTree(before).get("Peers").get(0).get("Online").asBoolean()).isTrue();
        assertThat(Tailcfg.json().readTree(after).get("Peers").get(0).get("Online").asBoolean()).isFalse();
    }

    @Test
    void equalNodesFromDifferentViewersShareOneEntry() {
        json(MapResponse.builder().peers(List.of(peer(20, true))).build());
        int size = PeerJsonCache.size();
        for (int i = 0; i < 50; i++) json(MapResponse.builder().peers(List.of(peer(20, true))).build());
        assertThat(PeerJsonCache.size()).isLessThanOrEqualTo(size);
    }
}
