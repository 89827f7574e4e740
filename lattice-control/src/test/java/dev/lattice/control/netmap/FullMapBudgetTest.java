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

    @Test
    void thousandsOfWaitingStreamsGetRoomInTheOrderTheyAsked() throws Exception {
        FullMapBudget b = new FullMapBudget(1 << 20);
        b.observe(2 << 20, 1000);
        int all = b.acquire(1000, () -> true); // everything taken: every stream below queues
        b.observe(600 * 1024, 1000); // ~600 KiB a map: one at a time
        int n = 2000;
        java.util.List<Integer> order = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.List<Thread> threads = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            int id = i;
            Thread t = Thread.ofVirtual().start(() -> {
                int held = b.acquire(1000, () -> true);
                order.add(id);
                b.release(held);
            });
            threads.add(t);
            // Each asks after the one before is queued, so that the order asked is known.
            while (t.getState() != Thread.State.TIMED_WAITING) Thread.onSpinWait();
        }
        assertThat(order).as("all waiting").isEmpty();
        b.release(all);
        for (Thread t : threads) t.join(10_000);
        assertThat(order).hasSize(n);
        for (int i = 0; i < n; i++) assertThat(order.get(i)).as("position %d", i).isEqualTo(i);
        assertThat(b.availableKib()).isEqualTo(1024);
    }

    @Test
    void aStreamGoingAwayAtTheHeadOfTheQueueLetsTheNextOneThrough() throws Exception {
        FullMapBudget b = new FullMapBudget(1 << 20);
        b.observe(700 * 1024, 1000);
        int first = b.acquire(1000, () -> true); // ~700 KiB taken, ~324 left
        AtomicBoolean headOpen = new AtomicBoolean(true);
        b.observe(1000 * 1024, 1000); // the next stream asks for ~1,000 KiB: it waits
        CompletableFuture<Integer> head = CompletableFuture.supplyAsync(() -> b.acquire(1000, headOpen::get));
        Thread.sleep(200);
        b.observe(200 * 1024, 1000); // and the one after it for ~200 KiB, which would fit
        CompletableFuture<Integer> next = CompletableFuture.supplyAsync(() -> b.acquire(1000, () -> true));
        Thread.sleep(200);
        // It waits behind the head all the same: first come, first served.
        assertThat(next).isNotDone();
        headOpen.set(false);
        assertThat(head.get(5, TimeUnit.SECONDS)).isEqualTo(-1);
        assertThat(next.get(5, TimeUnit.SECONDS)).as("through once the head is gone").isPositive();
        b.release(next.get());
        b.release(first);
        assertThat(b.availableKib()).isEqualTo(1024);
    }
}
