package dev.lattice.control.netmap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.machine.EncodedMapResponse;
import dev.lattice.control.machine.PeerRun;
import dev.lattice.control.machine.RecordingSinks;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.MutableClock;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.ts2021.MapStreamFraming;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full map made of shared runs of peers is, byte for byte, the map built peer by peer, whatever changed since the
 * runs were made (a node online, offline or replaced, an expiry passed, a policy hiding nodes, a router among them, a
 * client of the old generation); and viewers outside a run share the very same run until one of its nodes changes.
 */
class PeerRunsTest {
    @TempDir
    Path dir;

    private Store store;
    private Tailnet tailnet;
    private IpAllocator ips;
    private final Map<Long, Long> users = new HashMap<>();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-02T03:04:05Z"));

    private TailnetNode node(int i, long user) {
        IpAllocator.Addresses a = ips.allocate();
        String name = "n" + i;
        return tailnet.add(TailnetNode.builder()
                .machineKey(MachinePrivateKey.generate().publicKey())
                .nodeKey(NodePrivateKey.generate().publicKey())
                .discoKey(DiscoPrivateKey.generate().publicKey())
                .hostname(name)
                .givenName(name)
                .hostinfo(Tailcfg.json().readValue("{\"Hostname\":\"" + name + "\",\"OS\":\"linux\"}", Hostinfo.class))
                .endpoints(List.of(AddrPort.parse("192.0.2." + (i % 250 + 1) + ":41641")))
                .userId(user)
                .addresses(a.v4(), a.v6())
                .build());
    }

    /** Nodes whose ID is a multiple of 5 see only their own user's nodes; everyone else sees everyone. */
    private static final PacketPolicy PICKY = new PacketPolicy() {
        @Override
        public List<FilterRule> filterFor(TailnetNode node) {
            return PacketPolicy.ALLOW_ALL.filterFor(node);
        }

        @Override
        public boolean canSee(TailnetNode viewer, TailnetNode peer) {
            return viewer.id() % 5 != 0 || viewer.userId().equals(peer.userId());
        }
    };

    private MapSessions sessions(boolean share) {
        MapSessions s = new MapSessions(tailnet, new TailcfgNodes(tailnet, "example.test"), () -> null, () -> null,
                "example.test", share);
        s.setPolicy(PICKY);
        return s;
    }

    private static byte[] json(MapResponse m) {
        return Tailcfg.json().writeValueAsBytes(m);
    }

    /** Every viewer's map by runs against the one built peer by peer, and its frames against its JSON. */
    private void assertSameMaps(MapSessions byRuns, MapSessions byPeer, List<TailnetNode> viewers) throws Exception {
        for (TailnetNode v : viewers) {
            TailnetNode viewer = tailnet.node(v.id()).orElseThrow();
            for (int capVer : new int[] {CapabilityVersion.CURRENT, CapabilityVersion.HOME_DERP - 1}) {
                BitSet sentA = new BitSet(), sentB = new BitSet();
                Map<Long, List<IpPrefix>> routesA = new HashMap<>(), routesB = new HashMap<>();
                MapSessions.FullMap a = byRuns.fullMap(viewer, capVer, sentA, routesA);
                MapSessions.FullMap b = byPeer.fullMap(viewer, capVer, sentB, routesB);
                assertThat(new String(json(a.msg()))).as("map of %d, capver %d", v.id(), capVer)
                        .isEqualTo(new String(json(b.msg())));
                assertThat(sentA).as("peers sent to %d", v.id()).isEqualTo(sentB);
                assertThat(routesA).as("routes sent to %d", v.id()).isEqualTo(routesB);
                assertThat(b.runs()).isEmpty();
                byte[] frame = RecordingSinks.zstdFrame(new EncodedMapResponse(a.msg(), a.runs()));
                assertThat(MapStreamFraming.decompress(Arrays.copyOfRange(frame, 4, frame.length)))
                        .as("framed map of %d", v.id()).isEqualTo(json(a.msg()));
            }
        }
    }

    private static PeerRun runHolding(MapSessions.FullMap m, long id) {
        for (PeerRun.At at : m.runs()) {
            if (at.run().members().stream().anyMatch(p -> p.id() == id)) return at.run();
        }
        return null;
    }

    @Test
    void mapsByRunsAreTheMapsBuiltPeerByPeer() throws Exception {
        store = Store.openSqlite(dir.resolve("db.sqlite"), Clock.systemUTC());
        ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
        tailnet = new Tailnet(store, ips, clock);
        long alice = store.users().create("alice", null, null).id(), bob = store.users().create("bob", null, null).id();
        List<TailnetNode> nodes = new ArrayList<>();
        // Four ranges of IDs (1–63, 64–127, 128–191, 192–210), users alternating in stretches.
        for (int i = 1; i <= 210; i++) nodes.add(node(i, i / 7 % 2 == 0 ? alice : bob));
        List<TailnetNode> viewers = List.of(nodes.get(0), nodes.get(9), nodes.get(70), nodes.get(130), nodes.get(199));
        List<Tailnet.Presence> online = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i += 3) online.add(tailnet.streamOpened(nodes.get(i).id()));

        try (MapSessions byRuns = sessions(true); MapSessions byPeer = sessions(false)) {
            assertSameMaps(byRuns, byPeer, viewers);
            MapSessions.FullMap first = byRuns.fullMap(tailnet.node(1).orElseThrow(), CapabilityVersion.CURRENT, null, null);
            assertThat(first.runs()).as("the ranges other than the viewer's come as runs").hasSize(3);

            // Viewers outside the range 64–127 share its run; the viewer inside builds its own range peer by peer.
            TailnetNode v130 = tailnet.node(131).orElseThrow(), v200 = tailnet.node(201).orElseThrow();
            PeerRun r130 = runHolding(byRuns.fullMap(v130, CapabilityVersion.CURRENT, null, null), 100);
            PeerRun r200 = runHolding(byRuns.fullMap(v200, CapabilityVersion.CURRENT, null, null), 100);
            assertThat(r130).isNotNull().isSameAs(r200);
            assertThat(runHolding(byRuns.fullMap(tailnet.node(100).orElseThrow(), CapabilityVersion.CURRENT, null, null), 101))
                    .as("the viewer's own range").isNull();
            PeerRun other = runHolding(byRuns.fullMap(v130, CapabilityVersion.CURRENT, null, null), 10);

            // A node of the range goes online: a new run for that range only.
            online.add(tailnet.streamOpened(101));
            PeerRun after = runHolding(byRuns.fullMap(v130, CapabilityVersion.CURRENT, null, null), 100);
            assertThat(after).isNotSameAs(r130);
            assertThat(after.members().stream().filter(p -> p.id() == 101).findFirst().orElseThrow().online()).isTrue();
            assertThat(runHolding(byRuns.fullMap(v130, CapabilityVersion.CURRENT, null, null), 10)).isSameAs(other);
            assertSameMaps(byRuns, byPeer, viewers);

            // Offline again: the run must not be the one from before it went online with stale state, nor the online one.
            online.removeLast().close();
            assertSameMaps(byRuns, byPeer, viewers);

            // A node replaced (new endpoints), one deleted, one added in the last range.
            tailnet.update(102, Change.Kind.PATCH, n -> n.toBuilder().endpoints(List.of(AddrPort.parse("198.51.100.9:41641"))).build());
            tailnet.delete(40);
            nodes.add(node(211, alice));
            assertSameMaps(byRuns, byPeer, viewers);

            // An expiry ahead, then passed without any write.
            tailnet.update(150, Change.Kind.UPDATED, n -> n.toBuilder().expiry(clock.instant().plusSeconds(60)).build());
            assertSameMaps(byRuns, byPeer, viewers);
            clock.advance(Duration.ofMinutes(2));
            assertSameMaps(byRuns, byPeer, viewers);
            assertThat(Tailcfg.json().readValue(json(byRuns.fullMap(v200, CapabilityVersion.CURRENT, null, null).msg()),
                    MapResponse.class).peers().stream().filter(p -> p.id() == 150).findFirst().orElseThrow().expired())
                    .isNotNull();

            // A subnet router in a range: that range peer by peer, with its routes.
            tailnet.update(80, Change.Kind.UPDATED, n -> n.toBuilder()
                    .hostinfo(Tailcfg.json().readValue("{\"Hostname\":\"n80\",\"RoutableIPs\":[\"10.9.0.0/16\"]}", Hostinfo.class))
                    .approvedRoutes(List.of(IpPrefix.parse("10.9.0.0/16"))).build());
            assertSameMaps(byRuns, byPeer, viewers);
            assertThat(runHolding(byRuns.fullMap(v130, CapabilityVersion.CURRENT, null, null), 81)).isNull();
        } finally {
            for (Tailnet.Presence p : online) p.close();
        }
    }
}
