package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.User;
import dev.lattice.controlclient.MapStream;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online status under churn, over real ts2021 connections: many clients open and close map streams at once, in every
 * order that a client going up and down produces (a stream reset right behind its request, before the server has
 * set it up; a stream ended after its first map; two streams overlapping, as while a client reconnects). Whatever
 * happened, once the dust settles a node is online exactly when it has an open map stream, and has exactly the
 * sessions of its open streams. A close that ran before its open was counted once left a node online for good.
 */
@Timeout(180)
class OnlineStatusStressTest {
    static final int MACHINES = 8, ROUNDS = 40;
    /** Closes the server has not seen yet are seen within this; a leaked presence never is. */
    static final Duration SETTLE = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    ControlServer server;
    EventLoopGroup group;

    @BeforeEach
    void start() throws Exception {
        server = ControlServer.start(TestServer.config(dir, ""));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterEach
    void stop() {
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
    }

    @Test
    void afterConcurrentOpensAndClosesANodeIsOnlineExactlyWhenItHasAnOpenStream() throws Exception {
        User alice = server.store().users().create("alice", "Alice", "alice@example.com");
        server.tailnet().announceFull();
        String key = server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(3600)).fullKey();
        List<TestMachine> machines = new ArrayList<>();
        List<Long> ids = new ArrayList<>();
        List<List<MapStream>> leftOpen = new ArrayList<>();
        try {
            for (int i = 0; i < MACHINES; i++) {
                TestMachine m = new TestMachine(group, server.config().serverUrl(), "churn" + i);
                machines.add(m);
                m.register(key);
                ids.add(server.tailnet().byNodeKey(m.nodeKey.publicKey()).orElseThrow().id());
                leftOpen.add(Collections.synchronizedList(new ArrayList<>()));
            }
            long seed = System.nanoTime();
            // Even machines end with a stream open, odd ones with none.
            IntPredicate endsOpen = i -> i % 2 == 0;
            CyclicBarrier go = new CyclicBarrier(MACHINES);
            long t0 = System.nanoTime();
            ExecutorService pool = Executors.newFixedThreadPool(MACHINES);
            try {
                List<Future<Integer>> runs = new ArrayList<>();
                for (int i = 0; i < MACHINES; i++) {
                    int idx = i;
                    runs.add(pool.submit(() -> churn(machines.get(idx), new Random(seed + idx), go, endsOpen.test(idx), leftOpen.get(idx))));
                }
                int streams = 0;
                for (Future<Integer> f : runs) streams += f.get(120, TimeUnit.SECONDS);
                System.out.printf("[online-stress] %d clients opened and closed %d map streams in %d ms (seed %d)%n",
                        MACHINES, streams, (System.nanoTime() - t0) / 1_000_000, seed);
            } finally {
                pool.shutdownNow();
            }

            long settled = awaitSettled(ids, endsOpen, seed);
            System.out.printf("[online-stress] online status settled %d ms after the last open or close%n", settled);

            // And when the remaining streams close, everyone is offline.
            for (List<MapStream> l : leftOpen) l.forEach(MapStream::close);
            awaitSettled(ids, i -> false, seed);
        } finally {
            for (TestMachine m : machines) m.close();
        }
    }

    /**
     * One client's rounds; returns the streams it opened. With {@code endOpen} it ends with one stream open, whose
     * first map has arrived, left in {@code leftOpen}.
     */
    private static int churn(TestMachine m, Random rnd, CyclicBarrier go, boolean endOpen, List<MapStream> leftOpen) throws Exception {
        go.await(10, TimeUnit.SECONDS);
        int opened = 0;
        for (int round = 0; round < ROUNDS; round++) {
            switch (rnd.nextInt(4)) {
                case 0 -> { // reset right behind its request: the server may set it up after it is gone
                    open(m, null).close();
                    opened++;
                }
                case 1 -> { // up, first map, down
                    CountDownLatch first = new CountDownLatch(1);
                    MapStream s = open(m, first);
                    first.await(5, TimeUnit.SECONDS);
                    s.close();
                    opened++;
                }
                case 2 -> { // two overlapping streams (a reconnect), closed in either order
                    MapStream a = open(m, null), b = open(m, null);
                    Thread.sleep(rnd.nextInt(20));
                    if (rnd.nextBoolean()) {
                        a.close();
                        b.close();
                    } else {
                        b.close();
                        a.close();
                    }
                    opened += 2;
                }
                default -> { // closed a moment later, maybe while its first map is being written
                    MapStream s = open(m, null);
                    Thread.sleep(rnd.nextInt(10));
                    s.close();
                    opened++;
                }
            }
        }
        if (endOpen) {
            CountDownLatch first = new CountDownLatch(1);
            leftOpen.add(open(m, first));
            assertThat(first.await(10, TimeUnit.SECONDS)).as(m.hostname + ": first map of the stream left open").isTrue();
            opened++;
        }
        return opened;
    }

    private static MapStream open(TestMachine m, CountDownLatch first) throws Exception {
        byte[] req = Tailcfg.json().writeValueAsBytes(m.mapRequest().stream(true).build());
        return m.channel.stream("/machine/map", req, true, json -> {
            if (first != null) first.countDown();
        }).get(10, TimeUnit.SECONDS);
    }

    /** Waits until each node is online, with one session, exactly when {@code open} says; returns how long it took. */
    private long awaitSettled(List<Long> ids, IntPredicate open, long seed) throws InterruptedException {
        long start = System.nanoTime(), end = start + SETTLE.toNanos();
        Map<String, String> wrong;
        do {
            wrong = new TreeMap<>();
            for (int i = 0; i < ids.size(); i++) {
                long id = ids.get(i);
                boolean online = server.tailnet().isOnline(id);
                int sessions = server.sessions().sessionsOf(id).size();
                if (online != open.test(i) || sessions != (open.test(i) ? 1 : 0)) {
                    wrong.put("churn" + i, "online=" + online + " sessions=" + sessions + ", expected "
                            + (open.test(i) ? "online with 1 session" : "offline with none"));
                }
            }
            if (wrong.isEmpty()) return (System.nanoTime() - start) / 1_000_000;
            Thread.sleep(50);
        } while (System.nanoTime() < end);
        throw new AssertionError("online status does not match the open streams " + SETTLE.toSeconds() + " s after the last "
                + "change (seed " + seed + "): " + wrong);
    }
}
