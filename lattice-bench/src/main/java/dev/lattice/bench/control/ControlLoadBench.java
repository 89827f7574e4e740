package dev.lattice.bench.control;

import dev.lattice.controlclient.ServerKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.MapResponse;
import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Control-server load: N simulated nodes hold zstd map streams against a running lattice-control (or headscale);
 * then one more node joins, and later changes its endpoints. For each change we time how long until every one of
 * the N streams has the delta. Server CPU and memory are read from /proc for the server's pid.
 *
 * <p>Usage: {@code ControlLoadBench URL AUTHKEY SERVER_PID N [N...]} — the script bench/control-load.sh starts the
 * servers and passes these.
 */
public final class ControlLoadBench {
    public static void main(String[] args) throws Exception {
        URI url = URI.create(args[0]);
        String key = args[1];
        long pid = Long.parseLong(args[2]);
        int n = Integer.parseInt(args[3]);
        String label = args.length > 4 ? args[4] : "server";
        EventLoopGroup group = SimNode.eventLoops(2);
        MachinePublicKey controlKey = ServerKey.fetch(url, 142);
        List<SimNode> nodes = new ArrayList<>();
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        Semaphore inflight = new Semaphore(32);
        long cpu0 = ProcStats.cpuMillis(pid);
        long t0 = System.nanoTime();
        List<Future<?>> fs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SimNode s = new SimNode("sim-" + i);
            nodes.add(s);
            fs.add(pool.submit(() -> {
                inflight.acquire();
                try {
                    s.connect(group, url, controlKey);
                    s.register(key);
                    s.openStream();
                    s.gotFullMap.get(120, TimeUnit.SECONDS);
                } finally {
                    inflight.release();
                }
                return null;
            }));
        }
        for (Future<?> f : fs) f.get(30, TimeUnit.MINUTES);
        double joinSec = (System.nanoTime() - t0) / 1e9;
        long joinCpu = ProcStats.cpuMillis(pid) - cpu0;
        Thread.sleep(3000); // let the join storm settle
        ProcStats.gc(pid);
        long heapAfter = ProcStats.heapUsedBytes(pid);
        long rss = ProcStats.rssBytes(pid);

        // 1) a new peer joins: every stream must get PeersChanged with it
        SimNode probe = new SimNode("probe");
        probe.connect(group, url, controlKey);
        // A server may deliver the new peer as PeersChanged or in a full Peers list; both count.
        long[] addLat = waitAll(nodes, m -> hasProbe(m.peersChanged()) || hasProbe(m.peers()), () -> {
                    probe.register(key);
                    probe.openStream();
                });
        // 2) the peer changes its endpoints (lite update): every stream must get a patch
        long cpu1 = ProcStats.cpuMillis(pid);
        // ... and the endpoint change as a patch or as the whole node again.
        long[] patchLat = waitAll(nodes, m -> (m.peersChangedPatch() != null
                && m.peersChangedPatch().stream().anyMatch(p -> p.endpoints() != null && !p.endpoints().isEmpty()))
                || probeWithEndpoints(m.peersChanged()) || probeWithEndpoints(m.peers()), () ->
                probe.lite(probe.mapRequest().stream(false).omitPeers(true)
                        .endpoints(List.of(AddrPort.parse("192.0.2.55:41641"))).build()));
        long patchCpu = ProcStats.cpuMillis(pid) - cpu1;

        System.out.printf("| %s | %d | %.1f | %d | %d | %d | %d | %d | %d | %.0f | %.0f | %d |%n", label, n, joinSec,
                joinCpu, pct(addLat, 50), pct(addLat, 99), pct(addLat, 100), pct(patchLat, 50), pct(patchLat, 100),
                heapAfter / 1048576.0, rss / 1048576.0, patchCpu);
        probe.close();
        for (SimNode s : nodes) s.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        pool.shutdownNow();
        System.exit(0);
    }

    static boolean hasProbe(List<dev.lattice.wire.tailcfg.Node> nodes) {
        return nodes != null && nodes.stream().anyMatch(p -> p.name() != null && p.name().startsWith("probe."));
    }

    static boolean probeWithEndpoints(List<dev.lattice.wire.tailcfg.Node> nodes) {
        return nodes != null && nodes.stream().anyMatch(p -> p.name() != null && p.name().startsWith("probe.")
                && p.endpoints() != null && !p.endpoints().isEmpty());
    }

    interface Action {
        void run() throws Exception;
    }

    /**
     * Runs {@code action} and returns, per node, milliseconds until a message matching {@code p} arrived: the time its
     * last byte was read on the node's connection. Messages are parsed and checked after that, on a thread of their
     * own, in the order each node got them: the server's delivery is what is measured, and N simulated clients parsing
     * N messages on the generator's two event loops (real clients each parse their own, elsewhere) held the last
     * arrivals back by as long as all the parsing before them, most of a 10,000-node measurement.
     */
    static long[] waitAll(List<SimNode> nodes, java.util.function.Predicate<MapResponse> p, Action action) throws Exception {
        ConcurrentHashMap<SimNode, Long> at = new ConcurrentHashMap<>();
        CountDownLatch done = new CountDownLatch(nodes.size());
        java.util.concurrent.ExecutorService check = java.util.concurrent.Executors.newSingleThreadExecutor();
        java.util.concurrent.atomic.AtomicReference<Exception> failed = new java.util.concurrent.atomic.AtomicReference<>();
        for (SimNode s : nodes) {
            s.listener = (node, arrived, body) -> {
                try {
                    check.execute(() -> {
                        if (at.containsKey(node)) return;
                        try {
                            if (p.test(SimNode.parse(body)) && at.putIfAbsent(node, arrived) == null) done.countDown();
                        } catch (RuntimeException e) {
                            failed.compareAndSet(null, e);
                        }
                    });
                } catch (java.util.concurrent.RejectedExecutionException late) {
                    // after the wait: a message nobody checks any more (thrown here it would close the stream)
                }
            };
        }
        long start = System.nanoTime();
        action.run();
        if (!done.await(120, TimeUnit.SECONDS)) {
            System.err.println("only " + at.size() + " of " + nodes.size() + " nodes saw the change within 120 s");
        }
        for (SimNode s : nodes) s.listener = SimNode.NOBODY;
        check.shutdownNow();
        if (failed.get() != null) throw new IllegalStateException("a map message did not parse", failed.get());
        long[] lat = at.values().stream().mapToLong(t -> (t - start) / 1_000_000).sorted().toArray();
        return lat.length == 0 ? new long[] {-1} : lat;
    }

    static long pct(long[] sorted, int pct) {
        int i = (int) Math.ceil(pct / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private ControlLoadBench() {}
}
