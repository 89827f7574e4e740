package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two replicas on one PostgreSQL database keep one tailnet: what is written through either (a registration, a
 * rename, a route approval, a delete, a user, the policy) reaches the other's in-memory tailnet and the map streams
 * open on it within a second, through the change log and its notifications; a replica that missed notifications
 * (its listener was down) catches up from the log when it is back.
 */
@Timeout(120)
class ReplicaChangesTest {
    static final Duration SECOND = Duration.ofSeconds(1);

    @TempDir
    Path dir;
    ReplicaPair r;
    ControlServer a;
    ControlServer b;
    User alice;
    String authKey;

    @BeforeEach
    void start() throws Exception {
        r = ReplicaPair.start(dir, "policy:\n  mode: database\n");
        a = r.a;
        b = r.b;
        alice = r.alice();
        authKey = r.authKey(alice);
    }

    @AfterEach
    void stop() {
        if (r != null) r.close();
    }

    TestMachine register(ControlServer on, String name) throws Exception {
        return r.register(on, name, authKey);
    }

    static TailnetNode node(ControlServer s, TestMachine m) {
        return s.tailnet().byNodeKey(m.nodeKey.publicKey()).orElseThrow();
    }

    /** Waits up to {@code timeout} for {@code p}; returns how long it took. */
    static long within(Duration timeout, String what, BooleanSupplier p) throws InterruptedException {
        long start = System.nanoTime();
        long end = start + timeout.toNanos();
        while (!p.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError(what + ": not within " + timeout);
            Thread.sleep(5);
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        System.out.println("[replicas] " + what + ": " + ms + " ms");
        return ms;
    }

    @Test
    void aUserCreatedOnOneReplicaIsKnownToTheOther() throws Exception {
        within(SECOND, "user alice on B", () -> b.tailnet().user(alice.id()).isPresent());
        a.adminApi().renameUser(alice.id(), "alicia");
        within(SECOND, "rename of alice on B", () -> b.tailnet().user(alice.id()).map(User::name).orElse("").equals("alicia"));
    }

    @Test
    void aNodeRegisteredOnAReachesBsTailnetAndItsMapStreams() throws Exception {
        within(SECOND, "user alice on B", () -> b.tailnet().user(alice.id()).isPresent());
        TestMachine onB = register(b, "on-b");
        onB.openStream();
        onB.awaitView(Duration.ofSeconds(5), v -> v.self != null);

        TestMachine onA = register(a, "on-a");
        long id = node(a, onA).id();
        within(SECOND, "node registered on A in B's tailnet", () -> b.tailnet().node(id).isPresent());
        assertThat(b.tailnet().node(id).orElseThrow()).isEqualTo(node(a, onA));
        onB.awaitView(SECOND, v -> v.hasPeer("on-a"));
        assertThat(onB.view.peer("on-a").addresses()).containsExactlyElementsOf(a.nodes().addresses(node(a, onA)));
    }

    @Test
    void renameRouteApprovalAndDeleteOnBReachA() throws Exception {
        TestMachine router = r.machine(a, "router");
        IpPrefix subnet = IpPrefix.parse("10.9.0.0/24");
        router.hostinfoExtra = h -> h.withRoutableIps(List.of(subnet));
        assertThat(router.register(authKey).machineAuthorized()).isTrue();
        router.openStream(); // online: only an online router's route is primary
        TestMachine watcher = register(a, "watcher");
        watcher.openStream();
        long id = node(a, router).id();
        watcher.awaitView(Duration.ofSeconds(5), v -> v.hasPeer("router"));
        within(SECOND, "router in B's tailnet", () -> b.tailnet().node(id).isPresent());

        b.adminApi().renameNode(id, "gateway");
        within(SECOND, "rename on B in A's tailnet", () -> node(a, router).givenName().equals("gateway"));
        watcher.awaitView(SECOND, v -> v.hasPeer("gateway") && !v.hasPeer("router"));

        b.adminApi().approveRoutes(id, List.of(subnet.toString()));
        within(SECOND, "route approval on B in A's tailnet", () -> node(a, router).approvedRoutes().equals(List.of(subnet)));
        watcher.awaitView(SECOND, v -> v.peer("gateway") != null && v.peer("gateway").primaryRoutes() != null
                && v.peer("gateway").primaryRoutes().contains(subnet));

        b.adminApi().deleteNode(id);
        within(SECOND, "delete on B in A's tailnet", () -> a.tailnet().node(id).isEmpty());
        watcher.awaitView(SECOND, v -> v.peer(id) == null);
    }

    @Test
    void aPolicySetOnOneReplicaIsInForceOnTheOther() throws Exception {
        String policy = "{\"acls\": [{\"action\": \"accept\", \"src\": [\"alice@\"], \"dst\": [\"alice@:22\"]}]}";
        a.adminApi().setPolicy(policy);
        within(SECOND, "policy set on A in force on B", () -> policy.equals(b.policy().current().text()));
        assertThat(b.policy().compiled()).isPresent();
    }

    @Test
    void aStreamClosingOnAIsAPatchOnB() throws Exception {
        TestMachine m = register(a, "brief");
        long id = node(a, m).id();
        within(SECOND, "node in B's tailnet", () -> b.tailnet().node(id).isPresent());
        java.util.concurrent.LinkedBlockingQueue<dev.lattice.control.state.Change> heard = new java.util.concurrent.LinkedBlockingQueue<>();
        b.tailnet().addListener(heard::addAll);
        m.openStream();
        m.awaitView(Duration.ofSeconds(5), v -> v.self != null);
        // The map request changed the node (disco key, Hostinfo): B hears that as an update, then nothing.
        within(SECOND, "the opened stream's node on B", () -> b.tailnet().node(id).equals(a.tailnet().node(id)));
        // B's memory changes before its listeners hear of it: wait for the hearing, not only the node.
        within(SECOND, "B announced the update", () -> heard.stream().anyMatch(c -> c.kind() == dev.lattice.control.state.Change.Kind.UPDATED));
        heard.clear();
        m.stream.close();
        within(SECOND, "last seen on B", () -> b.tailnet().node(id).orElseThrow().lastSeen() != null);
        // Listeners hear a change just after the node is stored in memory.
        within(SECOND, "B's listeners heard it", () -> !heard.isEmpty());
        // Only last seen changed: B's sessions get a patch, not the whole node again.
        assertThat(heard).extracting(dev.lattice.control.state.Change::kind).containsOnly(
                dev.lattice.control.state.Change.Kind.PATCH);
    }

    @Test
    void aReplicaWhoseListenerConnectionIsKilledReconnectsAndCatchesUp() throws Exception {
        TestMachine m = register(a, "first");
        long id = node(a, m).id();
        within(SECOND, "node in B's tailnet", () -> b.tailnet().node(id).isPresent());
        // Both replicas' LISTEN connections go (as when the database restarts or a proxy drops them).
        r.pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                + " AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
        a.adminApi().renameNode(id, "after-the-cut");
        within(Duration.ofSeconds(3), "rename after B's listener was killed",
                () -> b.tailnet().node(id).map(TailnetNode::givenName).equals(Optional.of("after-the-cut")));
    }

    @Test
    void aReplicaThatMissedPrunedRowsReloadsEverything() throws Exception {
        TestMachine m = register(a, "old");
        long id = node(a, m).id();
        within(SECOND, "node in B's tailnet", () -> b.tailnet().node(id).isPresent());
        b.changeFollower().pause();
        a.adminApi().renameNode(id, "renamed-while-away");
        a.store().changes().prune(Instant.now().plusSeconds(60)); // every row so far
        TestMachine n = register(a, "new");
        long newId = node(a, n).id();
        b.changeFollower().resume();
        within(SECOND, "B reloaded after missing pruned rows",
                () -> b.tailnet().node(id).map(TailnetNode::givenName).equals(Optional.of("renamed-while-away"))
                        && b.tailnet().node(newId).isPresent());
    }

    @Test
    void aReplicaThatHasNotHeardOfAChangeYetDoesNotOverwriteIt() throws Exception {
        TestMachine router = r.machine(a, "router");
        IpPrefix subnet = IpPrefix.parse("10.7.0.0/24");
        router.hostinfoExtra = h -> h.withRoutableIps(List.of(subnet));
        assertThat(router.register(authKey).machineAuthorized()).isTrue();
        long id = node(a, router).id();
        within(SECOND, "router in B's tailnet", () -> b.tailnet().node(id).isPresent());

        b.changeFollower().pause(); // B lags behind A
        a.adminApi().renameNode(id, "renamed-on-a");
        b.adminApi().approveRoutes(id, List.of(subnet.toString())); // from B's stale copy of the node
        TailnetNode stored = a.store().nodes().get(id).orElseThrow();
        assertThat(stored.givenName()).as("A's rename survives B's write").isEqualTo("renamed-on-a");
        assertThat(stored.approvedRoutes()).as("B's approval").containsExactly(subnet);
        assertThat(b.tailnet().node(id)).as("B learnt the row while writing").contains(stored);
        b.changeFollower().resume();
        within(SECOND, "A has B's approval", () -> a.tailnet().node(id).equals(Optional.of(stored)));
    }

    @Test
    void aReplicaThatMissedNotificationsCatchesUpFromTheLog() throws Exception {
        TestMachine m = register(a, "doomed");
        long id = node(a, m).id();
        within(SECOND, "node in B's tailnet", () -> b.tailnet().node(id).isPresent());

        b.changeFollower().pause();
        a.adminApi().renameNode(id, "renamed");
        TestMachine late = register(a, "late");
        long lateId = node(a, late).id();
        // Longer than a notification takes and than the poll: a paused replica really hears nothing.
        Thread.sleep(ControlServer.CHANGE_POLL.toMillis() + 500);
        assertThat(b.tailnet().node(id).map(TailnetNode::givenName)).as("while paused").contains("doomed");
        assertThat(b.tailnet().node(lateId)).as("while paused").isEmpty();

        b.changeFollower().resume();
        within(SECOND, "B caught up after its listener was back",
                () -> b.tailnet().node(id).map(TailnetNode::givenName).equals(Optional.of("renamed"))
                        && b.tailnet().node(lateId).isPresent());
        long latest = a.store().changes().latest();
        // The cursor moves after the rows are applied.
        within(SECOND, "B's cursor at the end of the log", () -> b.changeFollower().lastSeen() == latest);
    }
}
