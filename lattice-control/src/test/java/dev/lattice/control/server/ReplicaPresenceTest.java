package dev.lattice.control.server;

import static dev.lattice.control.server.ReplicaChangesTest.within;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.replica.TailnetPresence;
import dev.lattice.control.state.Change;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online status is the tailnet's, not a replica's: a node streaming to replica A is online, with its last seen, for
 * viewers on replica B; it goes offline there when its stream on A ends, or when A dies (its heartbeat lapses); HA
 * primaries are the same on every replica; and B's ephemeral-node cleanup leaves alone a node online on A.
 */
@Timeout(120)
class ReplicaPresenceTest {
    static final Duration SECOND = Duration.ofSeconds(1);
    /** Short enough for a test: beat every 200 ms, dead after 1 s without one. */
    static final TailnetPresence.Timing FAST =
            new TailnetPresence.Timing(Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofMillis(50));

    @TempDir
    Path dir;
    ReplicaPair r;
    ControlServer a;
    ControlServer b;
    User alice;
    String authKey;

    @BeforeEach
    void start() throws Exception {
        ControlServer.presenceTiming = FAST;
        r = ReplicaPair.start(dir);
        a = r.a;
        b = r.b;
        alice = r.alice();
        authKey = r.authKey(alice);
        within(SECOND, "user alice on B", () -> b.tailnet().user(alice.id()).isPresent());
    }

    @AfterEach
    void stop() {
        if (r != null) r.close();
        ControlServer.presenceTiming = TailnetPresence.Timing.DEFAULT;
    }

    TestMachine register(ControlServer on, String name, String key) throws Exception {
        return r.register(on, name, key);
    }

    TestMachine streaming(ControlServer on, String name) throws Exception {
        TestMachine m = register(on, name, authKey);
        m.openStream();
        m.awaitView(Duration.ofSeconds(5), v -> v.self != null);
        return m;
    }

    static long id(ControlServer s, TestMachine m) {
        return s.tailnet().byNodeKey(m.nodeKey.publicKey()).orElseThrow().id();
    }

    @Test
    void aNodeStreamingToAIsOnlineOnBAndGoesOfflineThereWhenItsStreamEnds() throws Exception {
        TestMachine watcher = streaming(b, "watcher");
        TestMachine laptop = register(a, "laptop", authKey);
        long id = id(a, laptop);
        watcher.awaitView(SECOND, v -> v.peer("laptop") != null);
        assertThat(watcher.view.peer("laptop").online()).as("registered, never streamed").isNotEqualTo(Boolean.TRUE);

        laptop.openStream();
        within(SECOND, "online on B", () -> b.tailnet().isOnline(id));
        watcher.awaitView(SECOND, v -> Boolean.TRUE.equals(v.peer("laptop").online()));
        assertThat(watcher.view.peer("laptop").lastSeen()).as("no last seen while online").isNull();
        // The reverse too: the watcher on B is online for the laptop on A.
        laptop.awaitView(SECOND, v -> v.peer("watcher") != null && Boolean.TRUE.equals(v.peer("watcher").online()));

        Instant closed = Instant.now();
        laptop.stream.close();
        within(SECOND, "offline on B", () -> !b.tailnet().isOnline(id));
        watcher.awaitView(SECOND, v -> Boolean.FALSE.equals(v.peer("laptop").online()) && v.peer("laptop").lastSeen() != null);
        assertThat(watcher.view.peer("laptop").lastSeen()).isBetween(closed.minusSeconds(1), Instant.now());
    }

    @Test
    void aSecondStreamOfAnOnlineNodeWritesNoSessionRow() throws Exception {
        TestMachine laptop = streaming(a, "laptop");
        long id = id(a, laptop);
        within(SECOND, "online on B", () -> b.tailnet().isOnline(id));
        Thread.sleep(200); // the opening's session write is done
        long before = sessionRows();
        // A second stream of the same node (a client reconnecting before its old stream is noticed gone) and its end:
        // the node was online throughout, so nothing is written.
        TestMachine again = r.track(new TestMachine(r.group, a.config().serverUrl(), laptop));
        again.openStream();
        again.awaitView(Duration.ofSeconds(5), v -> v.self != null);
        again.stream.close();
        Thread.sleep(300);
        assertThat(sessionRows()).as("session change-log rows").isEqualTo(before);
        assertThat(b.tailnet().isOnline(id)).isTrue();
    }

    @Test
    void aBurstOfNodesComingOnlineIsWrittenInAFewBatches() throws Exception {
        int n = 400;
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            var addrs = a.tailnet().ips().allocate();
            ids.add(a.tailnet().add(TailnetNode.builder()
                    .machineKey(dev.lattice.crypto.key.MachinePrivateKey.generate().publicKey())
                    .nodeKey(dev.lattice.crypto.key.NodePrivateKey.generate().publicKey())
                    .hostname("n" + i).givenName("n" + i).userId(alice.id()).addresses(addrs.v4(), addrs.v6()).build()).id());
        }
        within(Duration.ofSeconds(10), "the nodes on B", () -> ids.stream().allMatch(id -> b.tailnet().node(id).isPresent()));
        long writesBefore = a.store().writeTransactions();
        long start = System.nanoTime();
        List<AutoCloseable> streams = new ArrayList<>();
        for (long id : ids) streams.add(a.tailnet().streamOpened(id)); // as n map streams opening at once
        within(Duration.ofSeconds(3), n + " nodes online on B", () -> ids.stream().allMatch(b.tailnet()::isOnline));
        long ms = (System.nanoTime() - start) / 1_000_000;
        long writes = a.store().writeTransactions() - writesBefore;
        // Sessions in batches (every 50 ms), plus a heartbeat every 200 ms: a few dozen at most, not one per node.
        System.out.println("[replicas] " + n + " nodes online: " + writes + " write transactions on A, " + ms + " ms to B");
        assertThat(writes).isLessThan(n / 10);
        // And offline: the sessions' removal and the last seen of every node go in the same batches.
        long closeWritesBefore = a.store().writeTransactions();
        for (AutoCloseable s : streams) s.close();
        within(Duration.ofSeconds(3), n + " nodes offline on B", () -> ids.stream().noneMatch(b.tailnet()::isOnline));
        within(Duration.ofSeconds(3), n + " nodes' last seen on B",
                () -> ids.stream().allMatch(id -> b.tailnet().node(id).map(TailnetNode::lastSeen).orElse(null) != null));
        long closeWrites = a.store().writeTransactions() - closeWritesBefore;
        System.out.println("[replicas] " + n + " nodes offline: " + closeWrites + " write transactions on A");
        assertThat(closeWrites).as("one per batch, not one per node's last seen").isLessThan(n / 10);
        assertThat(a.store().nodes().get(ids.getFirst()).orElseThrow().lastSeen()).as("stored").isNotNull();
    }

    long sessionRows() {
        return a.store().changes().after(0, 100_000).stream()
                .filter(e -> e.kind() == dev.lattice.control.store.ChangeLog.Kind.SESSIONS).count();
    }

    @Test
    void aDeadReplicasNodesGoOfflineEverywhereWhenItsHeartbeatLapses() throws Exception {
        TestMachine watcher = streaming(b, "watcher");
        TestMachine laptop = streaming(a, "laptop");
        long id = id(a, laptop);
        watcher.awaitView(SECOND, v -> v.peer("laptop") != null && Boolean.TRUE.equals(v.peer("laptop").online()));

        TailnetNode asRead = a.store().nodes().get(id).orElseThrow(); // what a lagging replica still holds
        Instant died = Instant.now();
        a.heartbeat().pause(); // A hangs: its process and the laptop's stream live on, its heartbeat does not
        // Dead after the lapse (1 s), seen at B's next beat (200 ms).
        long ms = within(Duration.ofSeconds(3), "laptop offline on B after A's heartbeat lapsed", () -> !b.tailnet().isOnline(id));
        assertThat(ms).isGreaterThanOrEqualTo(FAST.lapse().toMillis() - FAST.heartbeat().toMillis() * 2);
        watcher.awaitView(SECOND, v -> Boolean.FALSE.equals(v.peer("laptop").online()) && v.peer("laptop").lastSeen() != null);
        // Last seen: A's last heartbeat, just before it died (the database's clock, this machine's too).
        assertThat(watcher.view.peer("laptop").lastSeen()).isBetween(died.minusSeconds(2), died.plusSeconds(1));
        within(SECOND, "A's sessions removed from the database", () -> b.store().sessions().others(Duration.ofHours(1), null)
                .stream().noneMatch(s -> s.nodeId() == id));
        // The last seen written for the dead replica moved the row's version: a write from the older row (a replica
        // that has not heard of it) is refused instead of putting the older last seen back.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.store().nodes().update(
                        asRead.toBuilder().givenName("renamed").build(), null, asRead.updated()))
                .isInstanceOf(dev.lattice.control.store.StaleNodeException.class);
        assertThat(b.store().nodes().get(id).orElseThrow().lastSeen()).isNotNull();
    }

    @Test
    void aNodeThatMovedOffADeadReplicaStaysOnlineWhenTheDeadOnesSessionsLapse() throws Exception {
        TestMachine watcher = streaming(b, "watcher");
        TestMachine laptop = streaming(a, "laptop");
        long id = id(a, laptop);
        within(SECOND, "online on B", () -> b.tailnet().isOnline(id));
        Instant since = b.tailnet().onlineSince(id).orElseThrow();

        a.heartbeat().pause(); // A is killed: its session row stays until its heartbeat lapses
        TestMachine moved = r.track(new TestMachine(r.group, b.config().serverUrl(), laptop)); // the client reconnects to B
        moved.openStream();
        moved.awaitView(Duration.ofSeconds(5), v -> v.self != null);
        within(Duration.ofSeconds(3), "A's sessions reaped", () -> b.store().sessions().others(Duration.ofHours(1), null)
                .stream().noneMatch(s -> s.nodeId() == id));
        Thread.sleep(FAST.heartbeat().toMillis() * 2); // B's next syncs
        assertThat(b.tailnet().isOnline(id)).as("online on B's own stream").isTrue();
        assertThat(b.tailnet().onlineSince(id)).as("its online period goes on").contains(since);
        assertThat(b.store().nodes().get(id).orElseThrow().lastSeen()).as("no last seen written while online").isNull();
        assertThat(watcher.view.peer("laptop").online()).as("online for B's watcher").isEqualTo(Boolean.TRUE);
    }

    @Test
    void aReplicaTakenForDeadThatBeatsAgainStoresItsSessionsAgain() throws Exception {
        TestMachine laptop = streaming(a, "laptop");
        long id = id(a, laptop);
        within(SECOND, "online on B", () -> b.tailnet().isOnline(id));
        // A is cut off from the database long enough for B to take it for dead and remove its sessions.
        a.heartbeat().pause();
        within(Duration.ofSeconds(3), "B takes the laptop for offline", () -> !b.tailnet().isOnline(id));
        within(SECOND, "B removed A's sessions", () -> b.store().sessions().others(Duration.ofHours(1), null).isEmpty());
        a.heartbeat().resume();
        within(SECOND, "A beats again and writes its sessions: online on B", () -> b.tailnet().isOnline(id));
    }

    @Test
    void haPrimariesAreTheSameOnEveryReplica() throws Exception {
        IpPrefix lan = IpPrefix.parse("10.20.0.0/24");
        TestMachine r1 = r.machine(a, "r1");
        TestMachine r2 = r.machine(b, "r2");
        for (TestMachine r : List.of(r1, r2)) {
            r.hostinfoExtra = h -> h.withRoutableIps(List.of(lan));
            assertThat(r.register(authKey).machineAuthorized()).isTrue();
        }
        long id1 = id(a, r1);
        long id2 = id(b, r2);
        a.adminApi().approveRoutes(id1, List.of(lan.toString()));
        b.adminApi().approveRoutes(id2, List.of(lan.toString()));
        within(SECOND, "both approvals on both replicas", () -> List.of(a, b).stream().allMatch(s ->
                List.of(id1, id2).stream().allMatch(id -> s.tailnet().node(id).map(n -> !n.approvedRoutes().isEmpty()).orElse(false))));

        // r2 (the higher id) comes online first, on B; then r1 on A. r2 has been online longer: primary on both.
        r2.openStream();
        within(SECOND, "r2 online on A", () -> a.tailnet().isOnline(id2));
        Thread.sleep(20);
        r1.openStream();
        within(SECOND, "r1 online on B", () -> b.tailnet().isOnline(id1));
        assertPrimary(lan, id2, a, b);
        // A replica started now, which saw none of this happen, elects the same.
        ControlServer c = r.replica("c");
        within(SECOND, "c elects r2", () -> primaryOn(c, lan) == id2);

        r2.stream.close();
        within(SECOND, "r1 primary on every replica after r2 went", () -> List.of(a, b, c).stream().allMatch(s -> primaryOn(s, lan) == id1));
        r2.openStream();
        within(SECOND, "r2 back online on A", () -> a.tailnet().isOnline(id2) && c.tailnet().isOnline(id2));
        assertPrimary(lan, id1, a, b, c); // no flapping back, anywhere
    }

    static void assertPrimary(IpPrefix lan, long id, ControlServer... on) {
        for (ControlServer s : on) assertThat(primaryOn(s, lan)).as("primary on " + s.config().serverUrl()).isEqualTo(id);
    }

    /** The node whose served routes include {@code lan} on replica {@code s}, or -1. */
    static long primaryOn(ControlServer s, IpPrefix lan) {
        return s.tailnet().nodes().stream().filter(n -> s.nodes().servedRoutes(n).contains(lan)).mapToLong(TailnetNode::id)
                .findFirst().orElse(-1);
    }

    @Test
    void bDoesNotDeleteAnEphemeralNodeOnlineOnA() throws Exception {
        String ephemeralKey = a.store().preAuthKeys().create(alice.id(), true, true, List.of(), Instant.now().plusSeconds(3600)).fullKey();
        TestMachine eph = register(a, "short-lived", ephemeralKey);
        long id = id(a, eph);
        eph.openStream();
        eph.awaitView(Duration.ofSeconds(5), v -> v.self != null);
        within(SECOND, "online on B", () -> b.tailnet().isOnline(id));
        // Last seen long ago: the node is past its inactivity timeout by that, and only being online keeps it.
        Instant longAgo = Instant.now().minus(Duration.ofHours(1)).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        a.tailnet().update(id, Change.Kind.PATCH, n -> n.toBuilder().lastSeen(longAgo).build());
        within(SECOND, "last seen on B", () -> longAgo.equals(b.tailnet().node(id).orElseThrow().lastSeen()));
        Thread.sleep(11_000); // two housekeeping rounds on each replica
        assertThat(a.store().nodes().get(id)).as("the ephemeral node online on A").isPresent();

        eph.stream.close();
        within(SECOND, "offline on B", () -> !b.tailnet().isOnline(id));
        within(SECOND, "the stream's end stored as last seen", () -> a.tailnet().node(id).orElseThrow().lastSeen().isAfter(longAgo));
        a.tailnet().update(id, Change.Kind.PATCH, n -> n.toBuilder().lastSeen(longAgo).build());
        within(Duration.ofSeconds(12), "offline everywhere and past its timeout: deleted", () -> a.store().nodes().get(id).isEmpty());
    }
}
