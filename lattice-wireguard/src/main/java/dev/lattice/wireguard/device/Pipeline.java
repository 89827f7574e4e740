package dev.lattice.wireguard.device;

import dev.lattice.wireguard.sys.Libc;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the crypto of packet batches on worker threads and finishes the batches in the order they were
 * submitted, as wireguard-go's parallel encryption/decryption queues with their in-order sequential sender and
 * receiver do. One producer thread (a TUN or UDP reader) {@link #take}s a free job, fills it and
 * {@link #submit}s it; any worker runs {@link Job#crypt} (the parallel part); {@link Job#finish} (sends, TUN
 * writes, replay windows, timers) runs for one job at a time, in submission order, on whichever worker holds
 * the finishing lock. There is no sequential thread of its own and so no extra hand-off.
 *
 * <p>A fixed set of jobs is reused (nothing is allocated per packet), and their number bounds what is in
 * flight: a producer that runs ahead waits for a free job. When nothing is in flight and a job holds a single
 * packet, the producer runs it itself, so a ping pays no thread hand-off.
 */
final class Pipeline<J extends Pipeline.Job> implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Pipeline.class);

    /** A batch of packets going through the pipeline; reused, so implementations keep their buffers. */
    abstract static class Job {
        volatile boolean done;

        /** Number of packets in the batch: a single one with an idle pipeline is run inline. */
        abstract int size();

        /** The parallel part: encryption or decryption of each packet, independent of any other job. */
        abstract void crypt();

        /** The in-order part; runs after the crypt of this job and the finish of every job submitted before it. */
        abstract void finish();

        /** Drops the buffers the job grew, as if it were new (see {@link Pipeline#Pipeline(String, int, int, Supplier, int)}). */
        void renew() {}
    }

    private final ArrayBlockingQueue<J> free;
    private final ArrayBlockingQueue<J> work;
    private final ArrayDeque<J> order = new ArrayDeque<>(); // guarded by itself
    private final ReentrantLock finishing = new ReentrantLock();
    private final List<Thread> workers = new ArrayList<>();
    private volatile boolean closed;
    private final int renewEvery;
    private int untilRenew; // the producer's own

    Pipeline(String name, int threads, int jobs, Supplier<J> newJob) {
        this(name, threads, jobs, newJob, NEVER);
    }

    /** A renewal interval that a device never reaches in practice (2^31 batches). */
    static final int NEVER = Integer.MAX_VALUE;
    private final boolean background;

    /**
     * As {@link #Pipeline(String, int, int, Supplier)}, with every {@code renewEvery}-th job {@link #take}n {@link
     * Job#renew renewed}. The start-up warm-up's devices renew now and then: a job fills its buffers lazily, so the
     * producers' "no buffer yet" branches are taken only by new jobs, and a warm-up whose jobs all had their buffers by
     * the time the code was profiled left those branches out of the compiled code, for a real device's new jobs to
     * deoptimise it at the first packets of a first transfer. A real device renews never ({@link #NEVER}); counting
     * down in both keeps the check itself a branch that C2 saw both ways.
     */
    Pipeline(String name, int threads, int jobs, Supplier<J> newJob, int renewEvery) {
        this(name, threads, jobs, newJob, renewEvery, false);
    }

    /** As {@link #Pipeline(String, int, int, Supplier, int)}; a {@code background} pipeline's workers run niced. */
    Pipeline(String name, int threads, int jobs, Supplier<J> newJob, int renewEvery, boolean background) {
        this.background = background;
        if (renewEvery <= 0) throw new IllegalArgumentException("renewEvery must be positive: " + renewEvery);
        this.renewEvery = renewEvery;
        this.untilRenew = renewEvery;
        free = new ArrayBlockingQueue<>(jobs);
        work = new ArrayBlockingQueue<>(jobs);
        for (int i = 0; i < jobs; i++) free.add(newJob.get());
        for (int i = 0; i < threads; i++) {
            workers.add(Thread.ofPlatform().name(name + "-" + i).daemon(true).start(this::workLoop));
        }
    }

    /**
     * Worker threads for a device: one per CPU, as wireguard-go runs one crypto goroutine per CPU; none on a
     * single CPU, where a hand-off cannot win anything. On a 2-CPU VM shared with other work, four runs of
     * lattice-wg pairs side by side gave the workers 1.7-4x the throughput of running each batch on its reader
     * thread in three of them (0.95x in one), at about the same CPU per byte. The system property
     * {@code lattice.wireguard.cryptoThreads} overrides the choice (0: no workers), for benchmarks.
     */
    static int defaultThreads() {
        String p = System.getProperty("lattice.wireguard.cryptoThreads");
        if (p != null) {
            try {
                return Math.max(0, Math.min(64, Integer.parseInt(p.trim())));
            } catch (NumberFormatException e) {
                log.warn("lattice.wireguard.cryptoThreads={} is not a number; using one per CPU", p);
            }
        }
        int cpus = Runtime.getRuntime().availableProcessors();
        return cpus <= 1 ? 0 : Math.min(8, cpus);
    }

    /** A free job for the producer to fill; waits while all jobs are in flight. Null once closed. */
    J take() {
        while (!closed) {
            try {
                J j = free.poll(100, TimeUnit.MILLISECONDS);
                if (j != null) {
                    if (--untilRenew == 0) {
                        untilRenew = renewEvery;
                        j.renew();
                    }
                    return j;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    /** Gives back a job taken but not submitted (the producer found nothing to put in it). */
    void giveBack(J job) {
        free.add(job);
    }

    /** Queues a filled job; when idle and the job is a single packet, runs it on the calling thread instead. */
    void submit(J job) {
        job.done = false;
        if (workers.isEmpty()) { // no workers: everything runs here, in order by construction
            finishing.lock();
            try {
                cryptSafely(job);
                finishSafely(job);
            } finally {
                finishing.unlock();
            }
            free.add(job);
            return;
        }
        if (job.size() <= 1 && finishing.tryLock()) {
            boolean inline;
            synchronized (order) {
                inline = order.isEmpty();
            }
            try {
                if (inline) {
                    cryptSafely(job);
                    finishSafely(job);
                    free.add(job);
                    return;
                }
            } finally {
                finishing.unlock();
            }
        }
        synchronized (order) {
            order.addLast(job);
        }
        work.add(job); // never full: it holds at most the jobs that exist
    }

    /** Waits until every submitted job has finished (before a packet takes a path outside the pipeline). */
    void awaitIdle() {
        while (!closed) {
            synchronized (order) {
                if (order.isEmpty()) return;
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    private void workLoop() {
        if (background) Libc.niceCurrentThread(Device.BACKGROUND_NICE);
        // This thread's cipher is made now, not inside its first job: C2 compiles the crypto path with the per-thread
        // lookup's "first time" branch never taken (every earlier thread had its cipher), and a new thread taking it
        // there deoptimised the compiled send and receive code at a first transfer.
        TransportCipher.get();
        Libc.prepareThread(); // the same for the errno buffer of its sends and TUN writes
        while (!closed) {
            J job;
            try {
                job = work.poll(500, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (job == null) continue;
            cryptSafely(job);
            job.done = true;
            finishReady();
        }
    }

    /**
     * Finishes jobs from the head of the order while they are done; whoever holds the lock does it for all. A job
     * that got done while the holder held the lock, after its last look (its worker's tryLock failed meanwhile), is
     * seen by the holder's look after unlocking. That case is rare and depends on timing: written as its own branch
     * ("if done, go round again"), C2 compiled it as never taken, and its first occurrence at a real transfer
     * deoptimised this method and both jobs' finish code inlined into it (the GSO send, the TUN writes), some 300 ms of
     * recompiles in that transfer's first second. So it sets the loop's own condition, whose branch goes both ways in
     * every call.
     */
    private void finishReady() {
        boolean again = true;
        while (again) {
            if (!finishing.tryLock()) return; // the holder will see our job: it re-checks after unlocking
            try {
                while (true) {
                    J head;
                    synchronized (order) {
                        head = order.peekFirst();
                        if (head == null || !head.done) break;
                        order.pollFirst();
                    }
                    finishSafely(head);
                    free.add(head);
                }
            } finally {
                finishing.unlock();
            }
            synchronized (order) {
                J head = order.peekFirst();
                again = head != null ? head.done : false; // no branch on 'done' itself: see above
            }
        }
    }

    // A bug must not take the device down, nor stall the jobs behind this one.
    private void cryptSafely(J job) {
        try {
            job.crypt();
        } catch (RuntimeException e) {
            if (!closed) log.debug("packet batch failed in crypt", e);
        }
    }

    private void finishSafely(J job) {
        try {
            job.finish();
        } catch (RuntimeException e) {
            if (!closed) log.debug("packet batch failed in finish", e);
        }
    }

    /** Tells the workers to end (each at its next look, within half a second) and the producer that none is free. */
    void shutdown() {
        closed = true;
    }

    @Override
    public void close() {
        shutdown();
        for (Thread t : workers) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
