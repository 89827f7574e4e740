package dev.lattice.control.netmap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Full maps in flight are bounded: a map waits for room as long as its stream is open, room comes back when a map is
 * written, and the first maps of a storm are counted by the tailnet's size, not as small maps.
 */
class FullMapBudgetTest {
    @Test
    void aMapWaitsForRoomUntilAnotherIsWritten() throws Exception {
        FullMapBudget b = new FullMapBudget(1 << 20); // 1,024 KiB
        b.observe(600 * 1024, 1000); // maps of about 600 KiB: one fits, two do not
        int first = b.acquire(1000, () -> true);
        assertThat(first).isBetween(600, 602);
        CompletableFuture<Integer> second = CompletableFuture.supplyAsync(() -> b.acquire(1000, () -> true));
        // Longer than the wait after which a map once went out anyway would be pointless to test here; what matters
        // is that nothing but room (or the stream going) ends the wait.
        Thread.sleep(3 * FullMapBudget.POLL_MILLIS);
        assertThat(second).as("no room for a second map").isNotDone();
        b.release(first);
        int got = second.get(5, TimeUnit.SECONDS);
        assertThat(got).isEqualTo(first);
        b.release(got);
        assertThat(b.availableKib()).isEqualTo(1024);
    }

    @Test
    void aStreamThatGoesAwayStopsWaitingAndTakesNothing() throws Exception {
        FullMapBudget b = new FullMapBudget(1 << 20);
        b.observe(2 << 20, 1000); // one map larger than the whole budget takes all of it
        assertThat(b.acquire(1000, () -> true)).isEqualTo(1024);
        AtomicBoolean open = new AtomicBoolean(true);
        CompletableFuture<Integer> waiting = CompletableFuture.supplyAsync(() -> b.acquire(1000, open::get));
        Thread.sleep(2 * FullMapBudget.POLL_MILLIS);
        assertThat(waiting).isNotDone();
        open.set(false);
        assertThat(waiting.get(5, TimeUnit.SECONDS)).as("gone, holding nothing").isEqualTo(-1);
        assertThat(b.availableKib()).isZero();
    }

    @Test
    void beforeAnyMapWasBuiltAMapIsGuessedFromTheTailnetsSize() {
        FullMapBudget b = new FullMapBudget(64 << 20);
        // 10,000 nodes: a map of cached runs is ~1.5 MB; a guess of a few KiB let a whole storm through at once.
        int taken = b.acquire(10_000, () -> true);
        assertThat((long) taken * 1024).isGreaterThanOrEqualTo(10_000L * 150);
    }
}
