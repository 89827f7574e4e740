package dev.lattice.control.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.controlclient.ControlChannel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * lattice-control on loopback with a 256 MiB heap, attacked as a stranger on the internet would: with nothing but
 * its URL. During and after each attack the server answers /key, /health, the admin socket and a fresh
 * registration; its RSS stays under {@link #RSS_BOUND_MIB} and its log grows by less than {@link #LOG_BOUND_BYTES}.
 */
@Timeout(300)
class ControlServerUnderAttackTest {
    /** -Xmx256m plus metaspace, code cache, thread stacks and Netty's direct arenas. */
    static final long RSS_BOUND_MIB = 480;
    /** What an attack may add to the log: a handful of rate-limited one-liners. */
    static final long LOG_BOUND_BYTES = 16 << 10;

    @TempDir
    Path dir;
    LocalControlServer server;
    EventLoopGroup group;
    Attacker attacker;
    String authKey;

    @BeforeEach
    void start() throws Exception {
        // A 10 s request deadline instead of the default 30 s, so the trickle attacks end sooner; the default itself
        // is the config's (ControlConfigTest) and the mechanism is the same.
        server = LocalControlServer.start(dir, "256m", "limits:\n  request_timeout: 10s\n");
        authKey = server.userWithReusableKey("alice");
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        attacker = new Attacker(group, server.url());
        assertThat(attacker.registerFresh(authKey)).as("registration before the attack").isTrue();
    }

    @AfterEach
    void stop() {
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) {
            System.out.println("[attack] server log tail:\n" + server.logTail(15));
            server.close();
        }
    }

    /** Every probe answers, a fresh registration works, the process is alive. */
    private void assertServing(String when) {
        assertThat(server.process.isAlive()).as("server alive " + when).isTrue();
        Map<String, Boolean> p = server.probes();
        assertThat(p).as("probes " + when).containsOnlyKeys("/key", "/health", "admin socket").doesNotContainValue(false);
        assertThat(attacker.registerFresh(authKey)).as("fresh registration " + when).isTrue();
    }

    @Test
    void unfinishedRequestBodiesOnManyStreamsDoNotExhaustMemory() throws Exception {
        long rss0 = server.rssMiB();
        long log0 = server.logBytes();
        List<ControlChannel> chans = new ArrayList<>();
        long peak = rss0;
        Map<String, Boolean> during;
        boolean registeredDuring;
        try {
            for (int c = 0; c < 4; c++) {
                ControlChannel ch = attacker.channel();
                chans.add(ch);
                attacker.halfSentBodies(ch, 250, 1 << 20);
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < end && server.process.isAlive()) {
                peak = Math.max(peak, server.rssMiB());
                Thread.sleep(250);
            }
            during = server.probes();
            registeredDuring = attacker.registerFresh(authKey);
            peak = Math.max(peak, server.rssMiB());
        } finally {
            chans.forEach(ControlChannel::close);
        }
        System.out.printf("[attack] h2 half-sent bodies (4 connections x 250 streams x 1 MiB): RSS %d -> peak %d MiB, probes during"
                + " %s, registration during %s, log +%d bytes%n", rss0, peak, during, registeredDuring, server.logBytes() - log0);
        assertThat(during).as("probes during the attack").doesNotContainValue(false);
        assertThat(registeredDuring).as("fresh registration during the attack").isTrue();
        Thread.sleep(1000);
        assertServing("after the attack");
        assertThat(peak).as("peak RSS MiB").isLessThan(RSS_BOUND_MIB);
        assertThat(server.logBytes() - log0).as("log growth").isLessThan(LOG_BOUND_BYTES);
    }

    @Test
    void bodiesJustUnderTheLimitFromManyConnectionsAreShedNotBuffered() throws Exception {
        long rss0 = server.rssMiB();
        long log0 = server.logBytes();
        List<ControlChannel> chans = new ArrayList<>();
        List<java.util.concurrent.atomic.AtomicInteger> answered = new ArrayList<>();
        long peak = rss0;
        Map<String, Boolean> during;
        boolean registeredDuring;
        try {
            // 64 connections x 32 streams x (64 KiB - 1): 128 MiB if it were all buffered, from one address.
            for (int c = 0; c < 64; c++) {
                ControlChannel ch = attacker.channel();
                chans.add(ch);
                answered.add(attacker.halfSentBodies(ch, 32, 64 << 10));
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (System.nanoTime() < end && server.process.isAlive()) {
                peak = Math.max(peak, server.rssMiB());
                Thread.sleep(250);
            }
            during = server.probes();
            registeredDuring = attacker.registerFresh(authKey);
        } finally {
            chans.forEach(ControlChannel::close);
        }
        int shed = answered.stream().mapToInt(java.util.concurrent.atomic.AtomicInteger::get).sum();
        System.out.printf("[attack] bodies just under the limit (64 connections x 32 streams x 64 KiB): RSS %d -> peak %d MiB,"
                + " %d streams answered 503, probes during %s, registration during %s, log +%d bytes%n",
                rss0, peak, shed, during, registeredDuring, server.logBytes() - log0);
        assertThat(shed).as("streams refused by the body budgets").isPositive();
        assertThat(during).doesNotContainValue(false);
        assertThat(registeredDuring).isTrue();
        assertServing("after the attack");
        assertThat(peak).isLessThan(RSS_BOUND_MIB);
        assertThat(server.logBytes() - log0).isLessThan(LOG_BOUND_BYTES);
    }

    @Test
    void garbageAfterTheHandshakeIsLoggedBrieflyAndRarely() throws Exception {
        long log0 = server.logBytes();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<java.util.concurrent.Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < 400; i++) fs.add(pool.submit(() -> {
                attacker.garbageAfterHandshake();
                return null;
            }));
            for (var f : fs) f.get(60, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertServing("after 400 garbage sessions");
        String added = server.logSince(log0);
        System.out.printf("[attack] 400 handshakes followed by a garbage record: log +%d bytes%n", added.length());
        assertThat(added).as("no stack traces, no quoted bytes").doesNotContain("\tat ").doesNotContain("Hex dump");
        assertThat((long) added.length()).as("log growth").isLessThan(LOG_BOUND_BYTES);
    }

    @Test
    void slowlorisOnTheMetricsListenerIsCutOffByADeadline() throws Exception {
        long fds0 = server.openFds();
        List<Socket> socks = Attacker.openMany(new InetSocketAddress("127.0.0.1", server.metricsPort), "127.0.0.2", 2000,
                "GET /metrics HTTP/1.1\r\nHost: x\r\n");
        try {
            assertThat(server.metrics()).as("/metrics answers during the attack").isTrue();
            Trickle t = trickleUntilCut(socks);
            System.out.printf("[attack] metrics slowloris: 2,000 connections, %d held by the server (fds %d -> %d), the last cut"
                    + " after %d s%n", t.held, fds0, t.fdsDuring, t.cutAfterSeconds);
            assertThat(t.open).as("trickling connections still open after 60 s").isZero();
            assertThat(t.cutAfterSeconds).as("seconds until every trickling request was cut").isLessThanOrEqualTo(20);
            assertThat(t.fdsDuring - fds0).as("descriptors the attack held").isLessThan(600);
            assertServing("after the metrics slowloris");
            assertThat(server.metrics()).isTrue();
        } finally {
            Attacker.closeAll(socks);
        }
    }

    @Test
    void tricklingRequestsOnTheMainPortAreCutOffByADeadline() throws Exception {
        long fds0 = server.openFds();
        List<Socket> socks = Attacker.openMany(server.address(), "127.0.0.2", 2000, "GET /key HTTP/1.1\r\nHost: x\r\n");
        try {
            assertServing("with 2,000 trickling connections");
            Trickle t = trickleUntilCut(socks);
            System.out.printf("[attack] main-port trickle: 2,000 connections, %d held by the server (fds %d -> %d), the last cut"
                    + " after %d s%n", t.held, fds0, t.fdsDuring, t.cutAfterSeconds);
            assertThat(t.open).isZero();
            assertThat(t.cutAfterSeconds).isLessThanOrEqualTo(20);
            assertThat(t.fdsDuring - fds0).isLessThan(600);
        } finally {
            Attacker.closeAll(socks);
        }
        assertServing("after the trickle");
    }

    private record Trickle(int held, long fdsDuring, long cutAfterSeconds, int open) {}

    /** One header byte every 5 s on every socket the server keeps, until it has closed them all (or 60 s). */
    private Trickle trickleUntilCut(List<Socket> socks) throws Exception {
        List<Socket> open = Attacker.stillOpen(socks);
        int held = open.size();
        long fds = server.openFds();
        long t0 = System.nanoTime();
        while (!open.isEmpty() && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(60)) {
            Thread.sleep(5000);
            Attacker.trickle(open);
            open = Attacker.stillOpen(open);
        }
        return new Trickle(held, fds, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0), open.size());
    }

    @Test
    void tenThousandsOfConnectionsFromOneAddressDoNotLockOthersOut() throws Exception {
        long rss0 = server.rssMiB();
        long t0 = System.nanoTime();
        List<Socket> socks = Attacker.openMany(server.address(), "127.0.0.2", 15_000, "");
        long openSecs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        long fds = server.openFds();
        int held = Attacker.stillOpen(socks).size();
        try {
            long p0 = System.nanoTime();
            assertServing("while one address holds its connections");
            long probeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - p0);
            System.out.printf("[attack] 15,000 connections from 127.0.0.2 in %d ms: %d held open by the server, server fds %d,"
                    + " probes answered in %d ms, RSS %d -> %d MiB%n", openSecs, held, fds, probeMs, rss0, server.rssMiB());
            assertThat(fds).as("server file descriptors").isLessThan(4000);
        } finally {
            Attacker.closeAll(socks);
        }
        Thread.sleep(1000);
        assertServing("after the flood");
    }
}
