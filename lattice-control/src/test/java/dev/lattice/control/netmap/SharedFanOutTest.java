package dev.lattice.control.netmap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.machine.RecordingSinks;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.PeerChange;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.ts2021.MapStreamFraming;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fan-out that builds each peer once and encodes each delta once per distinct content sends, byte for byte,
 * what building and encoding everything per session sends; and coalescing a burst of changes into ticks loses none of
 * them: every stream, its deltas applied, ends where a fresh full map would put it.
 */
class SharedFanOutTest {
    @TempDir
    Path dir;

    private Store store;
    private Tailnet tailnet;
    private IpAllocator ips;
    private long uid;
    private int serial;

    private void open(Clock clock) {
        store = Store.openSqlite(dir.resolve("db.sqlite"), Clock.systemUTC());
        ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
        tailnet = new Tailnet(store, ips, clock);
        uid = store.users().create("u", null, null).id();
    }

    private TailnetNode node(String name) {
        IpAllocator.Addresses a = ips.allocate();
        return tailnet.add(TailnetNode.builder()
                .machineKey(MachinePrivateKey.generate().publicKey())
                .nodeKey(NodePrivateKey.generate().publicKey())
                .discoKey(DiscoPrivateKey.generate().publicKey())
                .hostname(name)
                .givenName(name)
                .hostinfo(hostinfo(name, 900))
                .endpoints(List.of(AddrPort.parse("192.0.2." + (++serial % 250 + 1) + ":41641")))
                .userId(uid)
                .addresses(a.v4(), a.v6())
                .build());
    }

    private static Hostinfo hostinfo(String name, int derp) {
        return Tailcfg.json().readValue("{\"Hostname\":\"" + name + "\",\"OS\":\"linux\",\"NetInfo\":{\"PreferredDERP\":"
                + derp + "}}", Hostinfo.class);
    }

    private MapSessions sessions(boolean share) {
        return new MapSessions(tailnet, new TailcfgNodes(tailnet, "example.test"), () -> null, () -> null, "example.test",
                share);
    }

    private static void awaitIdle(MapSessions... all) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        for (MapSessions s : all) {
            while (s.ticking()) {
                if (System.nanoTime() > deadline) throw new AssertionError("fan-out did not settle");
                Thread.sleep(1);
            }
        }
    }

    @Test
    void sharedEncodingsAreTheBytesEachSessionWouldHaveBeenSent() throws Exception {
        // A fixed clock: full maps carry ControlTime, which would otherwise differ between the two paths.
        open(Clock.fixed(java.time.Instant.parse("2026-01-02T03:04:05Z"), java.time.ZoneOffset.UTC));
        List<TailnetNode> nodes = new ArrayList<>();
        for (int i = 1; i <= 6; i++) nodes.add(node("n" + i));
        try (MapSessions shared = sessions(true); MapSessions direct = sessions(false)) {
            Map<Long, RecordingSinks.Stream> viaShared = new LinkedHashMap<>();
            Map<Long, RecordingSinks.Stream> viaDirect = new LinkedHashMap<>();
            for (TailnetNode n : nodes) {
                // One client still on a capability version from before HomeDERP: its peers carry the legacy field.
                int capVer = n == nodes.get(3) ? CapabilityVersion.HOME_DERP - 1 : CapabilityVersion.CURRENT;
                RecordingSinks.Stream a = RecordingSinks.stream(), b = RecordingSinks.stream();
                shared.open(n.id(), capVer, a.sink());
                direct.open(n.id(), capVer, b.sink());
                viaShared.put(n.id(), a);
                viaDirect.put(n.id(), b);
                awaitIdle(shared, direct);
            }
            long encodingsBefore = shared.sharedEncodings();
            // Endpoints (a patch), Hostinfo (the whole node), a new node, a deletion, a stream closing (offline).
            tailnet.update(nodes.get(1).id(), Change.Kind.PATCH,
                    n -> n.toBuilder().endpoints(List.of(AddrPort.parse("198.51.100.7:41641"))).build());
            awaitIdle(shared, direct);
            assertThat(shared.sharedEncodings() - encodingsBefore)
                    .as("one encoding of the patch for the five other sessions, capability versions alike").isEqualTo(1);
            tailnet.update(nodes.get(2).id(), Change.Kind.UPDATED, n -> n.toBuilder().hostinfo(hostinfo("n3", 901)).build());
            awaitIdle(shared, direct);
            TailnetNode late = node("n7");
            awaitIdle(shared, direct);
            tailnet.delete(nodes.get(4).id());
            awaitIdle(shared, direct);
            viaShared.get(nodes.get(5).id()).channel().close();
            viaDirect.get(nodes.get(5).id()).channel().close();
            awaitIdle(shared, direct);
            assertThat(late.id()).isPositive();
            // Every full map was written (the recording channel takes writes at once): its room in the budget is back.
            assertThat(shared.fullMapBudgetFree()).isEqualTo((int) (Runtime.getRuntime().maxMemory() / 4 / 1024));

            for (long id : viaShared.keySet()) {
                List<byte[]> a = viaShared.get(id).frames(), b = viaDirect.get(id).frames();
                assertThat(a).as("frames to node %d", id).hasSameSizeAs(b).hasSizeGreaterThan(2);
                for (int i = 0; i < a.size(); i++) {
                    assertThat(json(a.get(i))).as("message %d to node %d", i, id).isEqualTo(json(b.get(i)));
                    assertThat(java.util.Arrays.equals(a.get(i), b.get(i))).as("frame %d to node %d", i, id).isTrue();
                }
            }
            // Full maps went out as concatenated frames (cached peer runs), not the whole-message body, and decompress
            // to JSON that parses as the full map with every peer (FramedFullMapTest checks the bytes against the JSON).
            for (long id : viaShared.keySet()) {
                byte[] full = viaShared.get(id).frames().get(0);
                byte[] decoded = MapStreamFraming.decompress(java.util.Arrays.copyOfRange(full, 4, full.length));
                assertThat(full).as("full map to node %d", id).isNotEqualTo(MapStreamFraming.frame(decoded, true));
                MapResponse m = Tailcfg.json().readValue(decoded, MapResponse.class);
                assertThat(m.peers()).as("full map to node %d", id).hasSizeGreaterThanOrEqualTo(5);
            }
            // The legacy client's peers carried the legacy DERP field, the others' did not: views per generation.
            assertThat(json(viaShared.get(nodes.get(3).id()).frames().get(0))).contains("\"DERP\":\"127.3.3.40:900\"");
            assertThat(json(viaShared.get(nodes.get(0).id()).frames().get(0))).doesNotContain("\"DERP\":");
        } finally {
            store.close();
        }
    }

    @Test
    void aBurstOfChangesCoalescesWithoutLosingAny() throws Exception {
        // A running clock: going offline stores last seen, and the same instant twice would store (and announce) nothing.
        open(Clock.systemUTC());
        List<TailnetNode> nodes = new ArrayList<>();
        for (int i = 1; i <= 30; i++) nodes.add(node("b" + i));
        try (MapSessions sessions = sessions(true)) {
            Map<Long, RecordingSinks.Stream> streams = new TreeMap<>();
            for (TailnetNode n : nodes.subList(0, 10)) {
                RecordingSinks.Stream s = RecordingSinks.stream();
                sessions.open(n.id(), CapabilityVersion.CURRENT, s.sink());
                streams.put(n.id(), s);
            }
            // Four writers at once: endpoints, Hostinfo, streams of the other nodes opening and closing (online),
            // new nodes and deletions; hundreds of changes inside a few coalescing windows.
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> done = new ArrayList<>();
            List<TailnetNode> others = nodes.subList(10, 30);
            for (int w = 0; w < 4; w++) {
                int seed = w;
                done.add(pool.submit(() -> {
                    Random r = new Random(seed);
                    List<Tailnet.Presence> open = new ArrayList<>();
                    for (int i = 0; i < 150; i++) {
                        TailnetNode target = nodes.get(r.nextInt(nodes.size()));
                        switch (r.nextInt(5)) {
                            case 0 -> tailnet.update(target.id(), Change.Kind.PATCH, n -> n.toBuilder()
                                    .endpoints(List.of(AddrPort.parse("203.0.113." + (r.nextInt(250) + 1) + ":41641"))).build());
                            case 1 -> tailnet.update(target.id(), Change.Kind.UPDATED,
                                    n -> n.toBuilder().hostinfo(hostinfo(n.hostname(), 900 + r.nextInt(5))).build());
                            case 2 -> open.add(tailnet.streamOpened(others.get(r.nextInt(others.size())).id()));
                            case 3 -> {
                                if (!open.isEmpty()) open.remove(r.nextInt(open.size())).close();
                            }
                            default -> {
                                TailnetNode added = node("x" + seed + "-" + i);
                                if (r.nextBoolean()) tailnet.delete(added.id());
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get();
            pool.shutdown();
            Thread.sleep(60); // a change published as the writers finished is scheduled by now
            awaitIdle(sessions);

            for (var e : streams.entrySet()) {
                Map<Long, Node> seen = replay(e.getValue().frames());
                TailnetNode me = tailnet.node(e.getKey()).orElseThrow();
                Map<Long, Node> expected = new TreeMap<>();
                for (Node p : sessions.fullResponse(me, CapabilityVersion.CURRENT).peers()) expected.put(p.id(), p);
                assertThat(seen.keySet()).as("peers of node %d", e.getKey()).isEqualTo(expected.keySet());
                for (Node p : expected.values()) {
                    Node s = seen.get(p.id());
                    assertThat(s.endpoints()).as("endpoints of %d at %d", p.id(), e.getKey()).isEqualTo(p.endpoints());
                    assertThat(s.online()).as("online of %d at %d", p.id(), e.getKey()).isEqualTo(p.online());
                    assertThat(s.homeDerp()).as("home DERP of %d at %d", p.id(), e.getKey()).isEqualTo(p.homeDerp());
                    assertThat(s.hostinfo()).as("Hostinfo of %d at %d", p.id(), e.getKey()).isEqualTo(p.hostinfo());
                }
            }
        } finally {
            store.close();
        }
    }

    /** A client's view of its peers after applying every message as tailscale's controlclient does. */
    private static Map<Long, Node> replay(List<byte[]> frames) {
        Map<Long, Node> peers = new HashMap<>();
        for (byte[] f : frames) {
            MapResponse m = Tailcfg.json().readValue(json(f), MapResponse.class);
            if (m.peers() != null) {
                peers.clear();
                for (Node p : m.peers()) peers.put(p.id(), p);
            }
            if (m.peersChanged() != null) for (Node p : m.peersChanged()) peers.put(p.id(), p);
            if (m.peersRemoved() != null) for (long id : m.peersRemoved()) peers.remove(id);
            if (m.peersChangedPatch() != null) {
                for (PeerChange c : m.peersChangedPatch()) {
                    Node p = peers.get(c.nodeId());
                    if (p == null) continue;
                    var b = p.toBuilder();
                    if (c.endpoints() != null) b.endpoints(c.endpoints());
                    if (c.derpRegion() != null && c.derpRegion() != 0) b.homeDerp(c.derpRegion());
                    if (c.discoKey() != null) b.discoKey(c.discoKey());
                    if (c.online() != null) b.online(c.online());
                    peers.put(p.id(), b.build());
                }
            }
        }
        return peers;
    }

    private static String json(byte[] frame) {
        try {
            return new String(MapStreamFraming.decompress(java.util.Arrays.copyOfRange(frame, 4, frame.length)),
                    java.nio.charset.StandardCharsets.UTF_8);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
