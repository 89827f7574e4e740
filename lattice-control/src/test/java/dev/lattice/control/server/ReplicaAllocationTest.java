package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicas on one database hand out addresses and collision names race-free: concurrent registrations of machines
 * with one hostname, spread over two replicas, all succeed with distinct addresses and distinct given names (the
 * database's unique constraints referee; the replica that loses a race learns what is taken and tries again); a
 * single-use key spent on both at once registers one machine.
 */
@Timeout(180)
class ReplicaAllocationTest {
    static final int MACHINES = 50;

    @TempDir
    Path dir;
    PostgresReplicas pg;
    final List<ControlServer> servers = new ArrayList<>();
    final List<TestMachine> machines = new ArrayList<>();
    EventLoopGroup group;

    @AfterEach
    void stop() {
        machines.forEach(TestMachine::close);
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        servers.forEach(ControlServer::close);
        if (pg != null) pg.close();
    }

    void startTwo() throws Exception {
        pg = PostgresReplicas.create();
        servers.add(ControlServer.start(pg.config(dir.resolve("a"))));
        servers.add(ControlServer.start(pg.config(dir.resolve("b"))));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @Test
    void aSingleUseKeyRegistersOneMachineHoweverManyReplicasItIsSpentOnAtOnce() throws Exception {
        startTwo();
        ControlServer a = servers.get(0);
        User bob = a.store().users().create("bob", "Bob", "");
        String key = a.store().preAuthKeys().create(bob.id(), false, false, List.of(), Instant.now().plusSeconds(3600)).fullKey();
        for (int i = 0; i < 10; i++) machines.add(new TestMachine(group, servers.get(i % 2).config().serverUrl(), "m" + i));
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Boolean>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (TestMachine m : machines) {
                done.add(pool.submit(() -> {
                    go.await();
                    return Boolean.TRUE.equals(m.register(key).machineAuthorized());
                }));
            }
            go.countDown();
            int authorized = 0;
            for (Future<Boolean> f : done) authorized += f.get(60, TimeUnit.SECONDS) ? 1 : 0;
            assertThat(authorized).isEqualTo(1);
        }
        assertThat(a.store().nodes().list()).hasSize(1);
    }

    @Test
    void concurrentRegistrationsOnTwoReplicasGetDistinctAddressesAndNames() throws Exception {
        startTwo();
        ControlServer a = servers.get(0);
        ControlServer b = servers.get(1);
        User alice = a.store().users().create("alice", "Alice", "");
        String key = a.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(3600)).fullKey();
        for (int i = 0; i < MACHINES; i++) {
            machines.add(new TestMachine(group, servers.get(i % 2).config().serverUrl(), "host"));
        }

        CountDownLatch go = new CountDownLatch(1);
        List<Future<Boolean>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (TestMachine m : machines) {
                done.add(pool.submit(() -> {
                    go.await();
                    return m.register(key).machineAuthorized();
                }));
            }
            go.countDown();
            for (Future<Boolean> f : done) assertThat(f.get(60, TimeUnit.SECONDS)).isTrue();
        }

        List<TailnetNode> stored = a.store().nodes().list();
        assertThat(stored).hasSize(MACHINES);
        assertThat(stored.stream().map(TailnetNode::ipv4).distinct()).hasSize(MACHINES);
        assertThat(stored.stream().map(TailnetNode::ipv6).distinct()).hasSize(MACHINES);
        assertThat(stored.stream().map(TailnetNode::givenName).distinct()).hasSize(MACHINES);
        // Both replicas end up with the database's view.
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (!(a.tailnet().nodes().equals(stored) && b.tailnet().nodes().equals(stored)) && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        assertThat(a.tailnet().nodes()).isEqualTo(stored);
        assertThat(b.tailnet().nodes()).isEqualTo(stored);
    }
}
