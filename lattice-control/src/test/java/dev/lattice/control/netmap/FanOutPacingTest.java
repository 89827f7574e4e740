package dev.lattice.control.netmap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.machine.MapSinks;
import dev.lattice.control.state.SqliteTailnet;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.MapResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How often sessions hear from the server: fan-out ticks are spaced by the number of open sessions (a restart storm's
 * endless online changes cost each session about one message a second at 10,000 nodes, not four), a change after a
 * quiet spell still goes out at once, and keep-alives go only to sessions that were silent for the period, from one
 * timer per session however many messages it is sent.
 */
class FanOutPacingTest {
    private static final long MS = 1_000_000;

    @TempDir
    Path dir;

    @Test
    void sessionsOpenedAllThroughATickShareAFewBatchesNotOneEach() {
        // A storm's tick: 5,000 changes, a session opened after each of them (its map has the changes before).
        int size = 5_000;
        java.util.Set<Integer> starts = new java.util.TreeSet<>();
        for (int skip = 0; skip < size; skip++) {
            int from = MapSessions.suffixStart(skip, size);
            assertThat(from).as("the batch for skip %d starts at or before it", skip).isBetween(0, skip);
            assertThat(skip - from).as("changes sent again to skip %d", skip).isLessThanOrEqualTo(size / MapSessions.SUFFIXES);
            starts.add(from);
        }
        assertThat(starts).as("distinct batches in the tick").hasSizeLessThanOrEqualTo(MapSessions.SUFFIXES)
                .contains(0);
        // Small ticks keep exact suffixes.
        for (int skip = 0; skip < 3; skip++) assertThat(MapSessions.suffixStart(skip, 3)).isEqualTo(skip);
    }

    @Test
    void theNextTickWaitsForItsWindowAndForTheSpacingOfTheOpenSessions() {
        long now = 1_000_000 * MS;
        record Row(String what, int sessions, long startedAgo, long took, long expectedMs) {}
        List<Row> rows = List.of(
                new Row("a change long after the last tick, few sessions", 10, 60_000 * MS, 0, 25),
                new Row("a change long after the last tick, 10,000 sessions", 10_000, 60_000 * MS, 0, 25),
                new Row("a short tick with few sessions: the coalescing window", 10, 2 * MS, 2 * MS, 25),
                new Row("a long tick: the window is as long, up to 250 ms", 100, 180 * MS, 180 * MS, 180),
                new Row("a very long tick: 250 ms at most", 100, 3_000 * MS, 3_000 * MS, 250),
                new Row("2,000 sessions: 200 ms from the last tick's start", 2_000, 10 * MS, 10 * MS, 190),
                new Row("10,000 sessions: a second from the last tick's start", 10_000, 300 * MS, 300 * MS, 700),
                new Row("100,000 sessions: still a second at most", 100_000, 100 * MS, 100 * MS, 900),
                new Row("a change 400 ms after a tick with 10,000 sessions", 10_000, 400 * MS, 0, 600));
        for (Row r : rows) {
            assertThat(MapSessions.nextTickDelayNanos(now - r.startedAgo, r.took, now, r.sessions) / MS).as(r.what)
                    .isEqualTo(r.expectedMs);
        }
    }

    @Test
    void underEndlessChangesEachOfManySessionsGetsAboutOneMessagePerSpacing() throws Exception {
        try (Fixture f = new Fixture(dir)) {
            MapSessions sessions = f.sessions;
            // 3,000 streams (of one node: sessions are per stream) space ticks 300 ms apart.
            List<MapSinks.Recording> streams = new ArrayList<>();
            for (int i = 0; i < 3_000; i++) {
                MapSinks.Recording r = MapSinks.recording();
                sessions.open(f.viewer.id(), CapabilityVersion.CURRENT, r.sink());
                streams.add(r);
            }
            awaitQuiet(sessions);
            streams.forEach(MapSinks.Recording::clear);

            // A node going on- and offline every 5 ms for 1.5 s: ~300 changes.
            long end = System.nanoTime() + 1_500 * MS;
            int changes = 0;
            while (System.nanoTime() < end) {
                f.tailnet.streamOpened(f.flapping.id()).close();
                changes += 2;
                Thread.sleep(5);
            }
            awaitQuiet(sessions);
            for (MapSinks.Recording r : List.of(streams.getFirst(), streams.get(1_500), streams.getLast())) {
                List<MapResponse> got = r.messages();
                // 1.5 s / 300 ms = 5 ticks, plus the first one and the one after the last change; with only the
                // 25 ms window it was one per ~25 ms, i.e. dozens.
                assertThat(got).as("messages for %d changes", changes).hasSizeBetween(1, 8)
                        .allMatch(m -> m.peersChangedPatch() != null && !m.peersChangedPatch().isEmpty());
            }
        }
    }

    @Test
    void keepAlivesGoOnlyToSilentSessionsFromOneTimerEach() throws Exception {
        try (Fixture f = new Fixture(dir)) {
            MapSessions sessions = f.sessions;
            sessions.keepAlive(Duration.ofMillis(600), Duration.ZERO);
            MapSinks.Recording quiet = MapSinks.recording();
            sessions.open(f.viewer.id(), CapabilityVersion.CURRENT, quiet.sink());
            awaitQuiet(sessions);
            quiet.clear();
            Thread.sleep(2_000);
            assertThat(quiet.messages()).as("a silent session: a keep-alive every 600 ms").hasSizeBetween(2, 4)
                    .allMatch(m -> Boolean.TRUE.equals(m.keepAlive()));

            // Changes every 100 ms: the session is never silent for 600 ms, so it gets no keep-alive.
            quiet.clear();
            for (int i = 0; i < 10; i++) {
                f.tailnet.streamOpened(f.flapping.id()).close();
                Thread.sleep(100);
            }
            assertThat(quiet.messages()).as("a session that hears changes").isNotEmpty()
                    .noneMatch(m -> Boolean.TRUE.equals(m.keepAlive()));
        }
    }

    @Test
    void thousandsOfMessagesLeaveOneKeepAliveTimerPerSession() throws Exception {
        try (Fixture f = new Fixture(dir)) {
            MapSessions sessions = f.sessions;
            for (int i = 0; i < 10; i++) sessions.open(f.viewer.id(), CapabilityVersion.CURRENT, MapSinks.recording().sink());
            for (int i = 0; i < 200; i++) {
                f.tailnet.streamOpened(f.flapping.id()).close();
                awaitQuiet(sessions); // each change its own tick: 200 messages to each session
            }
            // Moving the keep-alive at every message left each move's cancelled task queued for its 50 s.
            var queue = ((ScheduledThreadPoolExecutor) sessions.timers()).getQueue();
            assertThat(queue).as("timers queued after 2,000 messages to 10 sessions").hasSizeLessThanOrEqualTo(10);
        }
    }

    private static void awaitQuiet(MapSessions sessions) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000 * MS;
        do {
            Thread.sleep(20);
        } while (sessions.ticking() && System.nanoTime() < deadline);
        assertThat(sessions.ticking()).as("fan-out done").isFalse();
    }

    /** A tailnet of two nodes, one viewing, one going on- and offline, and the map sessions of its streams. */
    private static final class Fixture implements AutoCloseable {
        final SqliteTailnet net;
        final TailnetNode viewer;
        final TailnetNode flapping;
        final MapSessions sessions;
        final Tailnet tailnet;

        Fixture(Path dir) {
            net = new SqliteTailnet(dir);
            tailnet = net.tailnet;
            viewer = net.addWithAddresses("viewer");
            flapping = net.addWithAddresses("flapping");
            sessions = new MapSessions(tailnet, new TailcfgNodes(tailnet, "example.test"), () -> null, () -> null, "example.test");
        }

        @Override
        public void close() {
            sessions.close();
            net.close();
        }
    }
}
