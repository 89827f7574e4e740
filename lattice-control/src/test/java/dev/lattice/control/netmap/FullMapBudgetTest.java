package dev.lattice.control.netmap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Full maps in flight are bounded: a map waits for room, room comes back when a map is written, waits end. */
class FullMapBudgetTest {
    @Test
    void aMapWaitsForRoomUntilAnotherIsWritten() throws Exception {
        FullMapBudget b = new FullMapBudget(1 << 20, 30_000); // 1,024 KiB
        b.observe(600 * 1024); // maps of about 600 KiB: one fits, two do not
        int first = b.acquire();
        assertThat(first).isEqualTo(601);
        CompletableFuture<Integer> second = CompletableFuture.supplyAsync(b::acquire);
        Thread.sleep(200);
        assertThat(second).as("no room for a second map").isNotDone();
        b.release(first);
        assertThat(second.get(5, TimeUnit.SECONDS)).isEqualTo(601);
        b.release(601);
        assertThat(b.availableKib()).isEqualTo(1024);
    }

    @Test
    void aMapThatWaitedTooLongGoesOutWithoutTakingRoom() {
        FullMapBudget b = new FullMapBudget(1 << 20, 100);
        b.observe(2 << 20); // one map larger than the whole budget takes all of it
        assertThat(b.acquire()).isEqualTo(1024);
        long t = System.nanoTime();
        assertThat(b.acquire()).as("gone out anyway, holding nothing").isZero();
        assertThat((System.nanoTime() - t) / 1_000_000).isGreaterThanOrEqualTo(90);
    }
}
