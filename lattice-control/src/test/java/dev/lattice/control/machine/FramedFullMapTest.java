package dev.lattice.control.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.ts2021.MapStreamFraming;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class FramedFullMapTest {
    /** A peer about as large as lattice-control's (~600 bytes of JSON). */
    static Node peer(int id) {
        String name = "node-" + id;
        return Node.builder()
                .id((long) id)
                .stableId("n" + Long.toHexString(id * 0x9e3779b97f4aL))
                .name(name + ".example.ts.net.")
                .user(1L)
                .key(NodePrivateKey.generate().publicKey())
                .machine(MachinePrivateKey.generate().publicKey())
                .discoKey(DiscoPrivateKey.generate().publicKey())
                .addresses(List.of(IpPrefix.parse("100.64." + (id >> 8 & 255) + "." + (id & 255) + "/32"),
                        IpPrefix.parse("fd7a:115c:a1e0::" + Integer.toHexString(id) + "/128")))
                .allowedIps(List.of(IpPrefix.parse("100.64." + (id >> 8 & 255) + "." + (id & 255) + "/32"),
                        IpPrefix.parse("fd7a:115c:a1e0::" + Integer.toHexString(id) + "/128")))
                .endpoints(List.of(AddrPort.parse("198.51.100." + (id % 250 + 1) + ":41641"),
                        AddrPort.parse("10.0." + (id >> 8 & 255) + "." + (id & 255) + ":41641")))
                .homeDerp(1 + id % 3)
                .hostinfo(Tailcfg.json().readValue("{\"IPNVersion\":\"1.102.3\",\"OS\":\"linux\",\"Hostname\":\"" + name
                        + "\",\"NetInfo\":{\"PreferredDERP\":" + (1 + id % 3) + "}}", Hostinfo.class))
                .created(Instant.parse("2026-01-02T03:04:05Z").plusSeconds(id))
                .machineAuthorized(true)
                .computedName(name)
                .computedNameWithHost(name)
                .online(id % 7 != 0)
                .build();
    }

    static MapResponse fullMap(int peers) {
        List<Node> ps = new ArrayList<>();
        for (int i = 2; i < peers + 2; i++) ps.add(peer(i));
        return MapResponse.builder()
                .node(peer(1))
                .peers(ps)
                .domain("example.ts.net")
                .collectServices(false)
                .health(List.of())
                .build();
    }

    private static byte[] body(byte[] frame) {
        return Arrays.copyOfRange(frame, 4, frame.length);
    }

    @Test
    void aFramedFullMapDecompressesToExactlyTheJsonOfWholeMessageCompression() throws Exception {
        for (int n : new int[] {2, 3, 50, 700}) {
            MapResponse r = fullMap(n);
            EncodedMapResponse e = new EncodedMapResponse(r);
            byte[] framed = e.frame(true);
            byte[] whole = MapStreamFraming.frame(e.json(), true);
            assertThat(FramedFullMap.body(r, e.json())).as("%d peers go through the framed path", n).isNotNull();
            assertThat(framed).as("%d peers: not the whole-message body", n).isNotEqualTo(whole);
            assertThat(MapStreamFraming.length(framed, 0)).isEqualTo(framed.length - 4);
            assertThat(MapStreamFraming.decompress(body(framed))).as("%d peers", n)
                    .isEqualTo(MapStreamFraming.decompress(body(whole)))
                    .isEqualTo(e.json())
                    .isEqualTo(Tailcfg.json().writeValueAsBytes(r));
            assertThat(e.frame(false)).isEqualTo(MapStreamFraming.frame(e.json(), false));
        }
    }

    @Test
    void peersAreCompressedOncePerViewAndSharedBetweenMaps() {
        Node p = peer(42);
        assertThat(FramedFullMap.compressed(p)).isSameAs(FramedFullMap.compressed(p));
        // Two sessions' maps differ in their head (own node) but share the peer frames byte for byte.
        List<Node> shared = List.of(peer(2), p, peer(3));
        MapResponse ma = MapResponse.builder().node(peer(7)).peers(shared).build();
        MapResponse mb = MapResponse.builder().node(peer(8)).peers(shared).build();
        byte[] a = FramedFullMap.body(ma, Tailcfg.json().writeValueAsBytes(ma));
        byte[] b = FramedFullMap.body(mb, Tailcfg.json().writeValueAsBytes(mb));
        byte[] pf = FramedFullMap.compressed(p).zstd();
        assertThat(indexOf(a, pf)).isPositive();
        assertThat(indexOf(b, pf)).isPositive();
    }

    @Test
    void aFullMapsBufferSharesThePeerFramesInsteadOfCopyingThem() throws Exception {
        List<Node> ps = new ArrayList<>();
        for (int i = 64; i < 192; i++) ps.add(peer(i));
        // Viewers 70 and 100 sit in the run of IDs 64–127, viewer 300 in none of these runs.
        MapResponse a = MapResponse.builder().node(peer(70)).peers(ps.stream().filter(p -> p.id() != 70).toList()).build();
        MapResponse b = MapResponse.builder().node(peer(100)).peers(ps.stream().filter(p -> p.id() != 100).toList()).build();
        MapResponse c = MapResponse.builder().node(peer(300)).peers(ps).build();
        FramedFullMap.Pieces pa = FramedFullMap.pieces(a), pb = FramedFullMap.pieces(b), pc = FramedFullMap.pieces(c);
        // c: head (with peer 64), the run 65–127, the run 128–191, tail. a and b: the run of 64–127 holding them
        // comes as runs of 16 (65–79, 80–95, 96–111, 112–127), then 128–191 as one run.
        assertThat(pc.frames()).hasSize(4);
        assertThat(pa.frames()).hasSize(7);
        assertThat(pb.frames()).hasSize(7);
        // Shared arrays: a and b both send 80–95, 112–127 and 128–191 (not 65–79 nor 96–111: one of them is in each);
        // all three send the same 128–191.
        assertThat(pa.frames().stream().filter(f -> pb.frames().stream().anyMatch(g -> g == f)).count()).isEqualTo(3);
        assertThat(pa.frames().stream().filter(f -> pc.frames().stream().anyMatch(g -> g == f)).count()).isEqualTo(1);
        for (MapResponse m : List.of(a, b, c)) {
            EncodedMapResponse e = new EncodedMapResponse(m);
            assertThat(MapStreamFraming.decompress(body(e.frame(true)))).isEqualTo(Tailcfg.json().writeValueAsBytes(m));
            io.netty.buffer.ByteBuf buf = e.buffer(true);
            try {
                assertThat(io.netty.buffer.ByteBufUtil.getBytes(buf)).isEqualTo(e.frame(true));
                assertThat(e.length(true)).isEqualTo(buf.readableBytes());
            } finally {
                buf.release();
            }
        }
    }

    @Test
    void jsonThatDoesNotMatchTheMessagesLayoutIsNotFramed() {
        MapResponse r = fullMap(5);
        MapResponse other = fullMap(6);
        assertThat(FramedFullMap.body(r, Tailcfg.json().writeValueAsBytes(other))).isNull();
        assertThat(FramedFullMap.body(r, "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8))).isNull();
        assertThat(FramedFullMap.body(r, Tailcfg.json().writeValueAsBytes(r))).isNotNull();
    }

    @Test
    void messagesWithoutPeersOrWithOneAreCompressedWhole() throws Exception {
        for (MapResponse r : List.of(MapResponse.builder().node(peer(1)).build(),
                MapResponse.builder().node(peer(1)).peers(List.of()).build(),
                MapResponse.builder().node(peer(1)).peers(List.of(peer(2))).build(),
                MapResponse.builder().peersChanged(List.of(peer(2), peer(3))).build())) {
            EncodedMapResponse e = new EncodedMapResponse(r);
            assertThat(e.frame(true)).isEqualTo(MapStreamFraming.frame(e.json(), true));
        }
    }

    /**
     * Peers compressed alone take ~3.5× what they take in a whole map, which at 10,000 peers would pass the client's
     * 4 MiB limit; runs of {@link FramedFullMap#GROUP} by ID fit.
     */
    @Test
    void tenThousandPeersFitTheClientsLimitAsRuns() throws Exception {
        MapResponse r = fullMap(10_000);
        EncodedMapResponse e = new EncodedMapResponse(r);
        long alone = 0;
        for (Node p : r.peers()) alone += FramedFullMap.compressed(p).zstd().length;
        byte[] whole = MapStreamFraming.compress(e.json());
        byte[] framed = FramedFullMap.body(r, e.json());
        System.out.printf("10,000 peers: JSON %d B (%d B/peer); peers alone %d B (%d B/peer); runs of %d %d B (%d B/peer);"
                        + " whole map %d B (%d B/peer)%n", e.json().length, e.json().length / 10_000, alone, alone / 10_000,
                FramedFullMap.GROUP, framed == null ? -1 : framed.length, framed == null ? -1 : framed.length / 10_000,
                whole.length, whole.length / 10_000);
        // What a storm pays per full map once the runs are cached (printed for the record, not asserted: shared CPU).
        long whole1 = Long.MAX_VALUE, framed1 = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            long t0 = System.nanoTime();
            MapStreamFraming.compress(e.json());
            long t1 = System.nanoTime();
            FramedFullMap.body(r, e.json());
            long t2 = System.nanoTime();
            whole1 = Math.min(whole1, t1 - t0);
            framed1 = Math.min(framed1, t2 - t1);
        }
        System.out.printf("10,000 peers: whole-message compression %.1f ms per map, framed with cached runs %.1f ms (best of 10)%n",
                whole1 / 1e6, framed1 / 1e6);
        assertThat(alone).as("why peers are not framed one by one").isGreaterThan(FramedFullMap.MAX_FRAMED);
        assertThat(framed).isNotNull();
        assertThat(framed.length).isLessThanOrEqualTo(FramedFullMap.MAX_FRAMED);
        assertThat(MapStreamFraming.decompress(framed)).isEqualTo(e.json());
        assertThat(e.frame(true)).isEqualTo(MapStreamFraming.prefixed(framed));
    }

    @Test
    void aMapWhoseFramesWouldNotFitIsCompressedWhole() throws Exception {
        java.util.Random rnd = new java.util.Random(7);
        List<Node> ps = new ArrayList<>();
        for (int i = 2; i < 2500; i++) {
            // Hostnames of random letters compress poorly: 2,500 of 2,500 characters pass the framed limit.
            StringBuilder h = new StringBuilder();
            for (int k = 0; k < 2500; k++) h.append((char) ('a' + rnd.nextInt(26)));
            ps.add(peer(i).toBuilder().hostinfo(Tailcfg.json().readValue("{\"Hostname\":\"" + h + "\"}", Hostinfo.class))
                    .build());
        }
        MapResponse r = MapResponse.builder().node(peer(1)).peers(ps).build();
        EncodedMapResponse e = new EncodedMapResponse(r);
        assertThat(FramedFullMap.body(r, e.json())).isNull();
        assertThat(e.frame(true)).isEqualTo(MapStreamFraming.frame(e.json(), true));
        assertThat(MapStreamFraming.decompress(body(e.frame(true)))).isEqualTo(e.json());
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int k = 0; k < needle.length; k++) if (hay[i + k] != needle[k]) continue outer;
            return i;
        }
        return -1;
    }
}
