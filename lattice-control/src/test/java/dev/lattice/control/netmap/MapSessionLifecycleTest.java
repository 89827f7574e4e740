package dev.lattice.control.netmap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.machine.CountingSinks;
import dev.lattice.control.machine.MapSinks;
import dev.lattice.control.state.SqliteTailnet;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.MapResponse;
import java.nio.file.Path;
import java.util.List;
import java.time.Clock;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A map session's life against its stream's: online and timers while the stream is open, nothing at all once it
 * has closed, whichever came first, the close or the session.
 */
class MapSessionLifecycleTest {
    @TempDir
    Path dir;

    @Test
    void aStreamGoneBeforeItsSessionOpensLeavesNothingBehind() {
        try (Store store = Store.openSqlite(dir.resolve("db.sqlite"), Clock.systemUTC())) {
            IpAllocator ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
            Tailnet tailnet = new Tailnet(store, ips, Clock.systemUTC());
            long uid = store.users().create("u", null, null).id();
            IpAllocator.Addresses a = ips.allocate();
            TailnetNode n = tailnet.add(TailnetNode.builder()
                    .machineKey(MachinePrivateKey.generate().publicKey())
                    .nodeKey(NodePrivateKey.generate().publicKey())
                    .hostname("n")
                    .givenName("n")
                    .userId(uid)
                    .addresses(a.v4(), a.v6())
                    .build());
            try (MapSessions sessions = new MapSessions(tailnet, new TailcfgNodes(tailnet, "example.test"), () -> null, () -> null,
                    "example.test")) {
                LongAdder bytes = new LongAdder(), messages = new LongAdder();

                // Open, then closed: online with a full map and a keep-alive while open; after, none of it.
                CountingSinks.Stream open = CountingSinks.stream(bytes, messages);
                sessions.open(n.id(), CapabilityVersion.CURRENT, open.sink());
                assertThat(tailnet.isOnline(n.id())).isTrue();
                assertThat(messages.sum()).as("the full map").isEqualTo(1);
                assertThat(pendingTimers(sessions)).as("the keep-alive").isEqualTo(1);
                open.channel().close();
                assertThat(tailnet.isOnline(n.id())).isFalse();
                assertThat(sessions.size()).isZero();
                assertThat(pendingTimers(sessions)).isZero();

                // Closed before its session opens (reset right behind the request): offline, no session, no map
                // built for nobody, and no keep-alive left holding the session.
                CountingSinks.Stream gone = CountingSinks.stream(bytes, messages);
                gone.channel().close();
                messages.reset();
                sessions.open(n.id(), CapabilityVersion.CURRENT, gone.sink());
                assertThat(tailnet.isOnline(n.id())).isFalse();
                assertThat(sessions.size()).isZero();
                assertThat(messages.sum()).isZero();
                assertThat(pendingTimers(sessions)).as("timers scheduled for a stream that was gone").isZero();
            }
        }
    }

    @Test
    void aStreamWaitingForRoomForItsFullMapGetsNoDeltaBeforeIt() throws Exception {
        try (SqliteTailnet net = new SqliteTailnet(dir)) {
            Tailnet tailnet = net.tailnet;
            TailnetNode n = net.addWithAddresses("n");
            TailnetNode other = net.addWithAddresses("other");
            FullMapBudget budget = new FullMapBudget(1 << 20);
            try (MapSessions sessions = new MapSessions(tailnet, new TailcfgNodes(tailnet, "example.test"), () -> null,
                    () -> null, "example.test", true, budget)) {
                // All the room is taken (by the maps of a storm, say): n's stream waits for some.
                int held = budget.acquire(1 << 30, () -> true);
                assertThat(budget.availableKib()).isZero();
                MapSinks.Recording stream = MapSinks.recording();
                Thread opening = Thread.ofVirtual().start(() -> sessions.open(n.id(), CapabilityVersion.CURRENT, stream.sink()));
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (sessions.size() == 0 && System.nanoTime() < deadline) Thread.sleep(10);
                assertThat(sessions.size()).as("the session is open, waiting").isEqualTo(1);

                // Meanwhile a node joins and another comes online: changes a tick hands to the waiting session too.
                TailnetNode late = net.addWithAddresses("late");
                Tailnet.Presence p = tailnet.streamOpened(other.id());
                Thread.sleep(300); // ticks run
                assertThat(stream.messages()).as("nothing before the full map").isEmpty();

                budget.release(held);
                opening.join(5_000);
                List<MapResponse> got = stream.messages();
                assertThat(got).as("the full map comes first, with the changes in it").isNotEmpty();
                assertThat(got.getFirst().peers()).extracting(dev.lattice.wire.tailcfg.Node::id)
                        .containsExactlyInAnyOrder(other.id(), late.id());
                assertThat(got.getFirst().peers()).filteredOn(x -> x.id() == other.id())
                        .allMatch(x -> Boolean.TRUE.equals(x.online()));
                p.close();
            }
        }
    }

    /**
     * Scheduled tasks not cancelled (a cancelled one stays queued until its time), once the fan-out tick that the
     * open or close itself caused (the node's online patch) has run: that one timer serves all sessions and ends.
     */
    static long pendingTimers(MapSessions sessions) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (sessions.ticking() && System.nanoTime() < deadline) Thread.onSpinWait();
        var q = ((ScheduledThreadPoolExecutor) sessions.timers()).getQueue();
        return q.stream().filter(r -> !((Future<?>) r).isCancelled()).count();
    }
}
