package dev.lattice.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The crypto pipeline: parallel in the middle, in submission order at the end, and never stuck. */
class PipelineTest {
    /** A batch of {@code size} numbered items; crypt takes a random while, finish records the numbers. */
    static final class NumberJob extends Pipeline.Job {
        final List<Integer> finished;
        final AtomicInteger concurrent;
        final AtomicInteger maxConcurrent;
        int first;
        int size;
        boolean fail;
        String cryptThread;

        NumberJob(List<Integer> finished, AtomicInteger concurrent, AtomicInteger maxConcurrent) {
            this.finished = finished;
            this.concurrent = concurrent;
            this.maxConcurrent = maxConcurrent;
        }

        @Override
        int size() {
            return size;
        }

        @Override
        void crypt() {
            cryptThread = Thread.currentThread().getName();
            int now = concurrent.incrementAndGet();
            maxConcurrent.accumulateAndGet(now, Math::max);
            try {
                if (fail) throw new IllegalStateException("a bug in one batch");
                long spin = ThreadLocalRandom.current().nextLong(200_000);
                long end = System.nanoTime() + spin;
                while (System.nanoTime() < end) Thread.onSpinWait();
            } finally {
                concurrent.decrementAndGet();
            }
        }

        @Override
        void finish() {
            for (int i = 0; i < size; i++) finished.add(first + i); // unsynchronized on purpose: one at a time
        }
    }

    @Test
    void batchesFinishInSubmissionOrderWhileCryptRunsInParallel() {
        List<Integer> finished = new ArrayList<>();
        AtomicInteger concurrent = new AtomicInteger();
        AtomicInteger maxConcurrent = new AtomicInteger();
        int total = 0;
        try (Pipeline<NumberJob> p = new Pipeline<>("test-crypt", 4, 10,
                () -> new NumberJob(finished, concurrent, maxConcurrent))) {
            for (int batch = 0; batch < 3000; batch++) {
                NumberJob j = p.take();
                j.first = total;
                j.size = 1 + ThreadLocalRandom.current().nextInt(8);
                j.fail = false;
                total += j.size;
                p.submit(j);
            }
            p.awaitIdle();
        }
        assertThat(finished).hasSize(total);
        for (int i = 0; i < total; i++) assertThat(finished.get(i)).isEqualTo(i);
        assertThat(maxConcurrent.get()).as("crypt ran on several workers at once").isGreaterThan(1);
    }

    @Test
    void aSinglePacketWithNothingInFlightRunsOnTheSubmittingThread() {
        List<Integer> finished = new ArrayList<>();
        try (Pipeline<NumberJob> p = new Pipeline<>("test-crypt", 2, 4,
                () -> new NumberJob(finished, new AtomicInteger(), new AtomicInteger()))) {
            NumberJob j = p.take();
            j.first = 7;
            j.size = 1;
            p.submit(j);
            assertThat(finished).containsExactly(7); // done before submit returned
            assertThat(j.cryptThread).isEqualTo(Thread.currentThread().getName());
        }
    }

    @Test
    void aBatchThatThrowsIsSkippedAndTheOnesBehindItStillFinish() {
        List<Integer> finished = new ArrayList<>();
        try (Pipeline<NumberJob> p = new Pipeline<>("test-crypt", 2, 4,
                () -> new NumberJob(finished, new AtomicInteger(), new AtomicInteger()))) {
            for (int batch = 0; batch < 100; batch++) {
                NumberJob j = p.take();
                j.first = batch * 10;
                j.size = 2;
                j.fail = batch == 50;
                p.submit(j);
            }
            p.awaitIdle();
        }
        // the failed batch's crypt threw; its finish still runs (the data path drops what was not decrypted)
        assertThat(finished).hasSize(200).contains(990, 991);
    }

    @Test
    void aProducerThatRunsAheadWaitsForAFreeJob() throws Exception {
        List<Integer> finished = new ArrayList<>();
        try (Pipeline<NumberJob> p = new Pipeline<>("test-crypt", 1, 2,
                () -> new NumberJob(finished, new AtomicInteger(), new AtomicInteger()))) {
            NumberJob a = p.take();
            NumberJob b = p.take();
            Thread t = Thread.ofPlatform().start(() -> {
                NumberJob c = p.take(); // all jobs out: waits until one is finished
                c.first = 100;
                c.size = 2;
                p.submit(c);
            });
            t.join(300);
            assertThat(t.isAlive()).isTrue();
            a.first = 0;
            a.size = 2;
            p.submit(a);
            b.first = 2;
            b.size = 2;
            p.submit(b);
            t.join(5000);
            assertThat(t.isAlive()).isFalse();
            p.awaitIdle();
        }
        // the waiting producer got a's job back as soon as a finished, so its batch may come before b's
        assertThat(finished).startsWith(0, 1).containsExactlyInAnyOrder(0, 1, 2, 3, 100, 101);
    }
}
