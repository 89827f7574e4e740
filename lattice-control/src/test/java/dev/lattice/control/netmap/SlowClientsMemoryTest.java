package dev.lattice.control.netmap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.machine.RecordingSinks;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restart storm of clients that read slowly cannot make the server hold more full maps than its budget: the maps
 * queued for clients that have not read them stay within the budget (plus at most one map), the others wait for
 * room, and every stream gets its map once the clients read.
 */
class SlowClientsMemoryTest {
    @TempDir
    Path dir;

    @Test
    void fullMapsQueuedForClientsThatDoNotReadStayWithinTheBudget() throws Exception {
        Store store = Store.openSqlite(dir.resolve("db.sqlite"), Clock.systemUTC());
        IpAllocator ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
        Tailnet tailnet = new Tailnet(store, ips, Clock.systemUTC());
        long uid = store.users().create("u", null, null).id();
        List<TailnetNode> nodes = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            IpAllocator.Addresses a = ips.allocate();
            String name = "node-" + i;
            nodes.add(tailnet.add(TailnetNode.builder()
                    .machineKey(MachinePrivateKey.generate().publicKey())
                    .nodeKey(NodePrivateKey.generate().publicKey())
                    .discoKey(DiscoPrivateKey.generate().publicKey())
                    .hostname(name)
                    .givenName(name)
                    .hostinfo(Tailcfg.json().readValue("{\"Hostname\":\"" + name + "\",\"OS\":\"linux\"}", Hostinfo.class))
                    .endpoints(List.of(AddrPort.parse("192.0.2." + (i % 250 + 1) + ":41641")))
                    .userId(uid)
                    .addresses(a.v4(), a.v6())
                    .build()));
        }
        long budget = 1 << 20;
        AtomicLong queued = new AtomicLong();
        List<RecordingSinks.Held> streams = new ArrayList<>();
        try (MapSessions sessions = new MapSessions(tailnet, new TailcfgNodes(tailnet, "example.test"), () -> null,
                () -> null, "example.test", true, new FullMapBudget(budget));
                ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            try {
                storm(sessions, pool, nodes, streams, queued, budget);
            } finally {
                // Whatever happened, no open stays waiting for room (closing the pool waits for them).
                for (RecordingSinks.Held h : streams) h.channel().close();
                for (RecordingSinks.Held h : streams) h.drain();
            }
        }
    }

    private static void storm(MapSessions sessions, ExecutorService pool, List<TailnetNode> nodes,
            List<RecordingSinks.Held> streams, AtomicLong queued, long budget) throws Exception {
        // The storm: 60 streams open at once (each open waits on its own thread, as a request does).
        List<Future<?>> opens = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            RecordingSinks.Held h = RecordingSinks.held(queued);
            streams.add(h);
            long id = nodes.get(i).id();
            opens.add(pool.submit(() -> sessions.open(id, CapabilityVersion.CURRENT, h.sink())));
        }
        Thread.sleep(1500);
        int sent = streams.stream().mapToInt(h -> h.messages().get()).sum();
        long oneMap = streams.stream().mapToLong(h -> h.held().get()).max().orElseThrow();
        assertThat(oneMap).as("a full map of 400 nodes").isGreaterThan(20_000);
        assertThat(queued.get()).as("bytes of full maps queued for clients that do not read (%d maps)", sent)
                .isLessThanOrEqualTo(budget + oneMap);
        assertThat(sent).as("maps that went out before any client read").isLessThan(60);

        // A stream still waiting whose client goes away stops waiting, and never gets a map.
        RecordingSinks.Held gone = streams.stream().filter(h -> h.messages().get() == 0).findFirst().orElseThrow();
        gone.channel().close();

        // The clients read: every other stream gets its full map, and the room comes back.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (streams.stream().filter(h -> h != gone).anyMatch(h -> h.messages().get() == 0)) {
            assertThat(System.nanoTime()).as("every stream got its map").isLessThan(deadline);
            for (RecordingSinks.Held h : streams) h.drain();
            assertThat(queued.get()).isLessThanOrEqualTo(budget + oneMap);
            Thread.sleep(20);
        }
        for (Future<?> f : opens) f.get(10, TimeUnit.SECONDS);
        for (RecordingSinks.Held h : streams) h.drain();
        assertThat(gone.messages().get()).isZero();
        assertThat(sessions.fullMapBudgetFree()).isEqualTo((int) (budget / 1024));
    }
}
