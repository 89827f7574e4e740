package dev.lattice.bench.control;

import dev.lattice.controlclient.ServerKey;
import dev.lattice.crypto.key.MachinePublicKey;
import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Control servers' memory in steady state: N simulated nodes join each server (32 at a time) and keep their zstd map
 * streams open; after HOLD seconds every server's RSS, threads and (for a JVM) heap in use, then heap after a forced
 * GC, are read at the same moment, so the servers are compared under the same machine load. A Go server's heap in
 * use comes from its Prometheus endpoint when the target names one.
 *
 * <p>Usage: {@code RssBench N HOLD_SECONDS LABEL=URL,AUTHKEY,PID[,METRICS_URL] ...} — bench/control-load.sh's {@code rss} mode
 * starts the servers and passes these. Prints one markdown row per server (the header is the script's).
 */
public final class RssBench {
    record Target(String label, URI url, String key, long pid, String metrics, List<SimNode> nodes) {}

    public static void main(String[] args) {
        // The event loops' threads are not daemons: a failure must end the process, or the script waits forever.
        try {
            run(args);
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        int hold = Integer.parseInt(args[1]);
        List<Target> targets = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            String[] lv = args[i].split("=", 2);
            String[] f = lv[1].split(",");
            targets.add(new Target(lv[0], URI.create(f[0]), f[1], Long.parseLong(f[2]), f.length > 3 ? f[3] : null,
                    new ArrayList<>()));
        }
        EventLoopGroup group = SimNode.eventLoops(2);
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        for (Target t : targets) {
            MachinePublicKey controlKey = ServerKey.fetch(t.url(), 142);
            Semaphore inflight = new Semaphore(32);
            List<Future<?>> fs = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                SimNode s = new SimNode("sim-" + i);
                t.nodes().add(s);
                fs.add(pool.submit(() -> {
                    inflight.acquire();
                    try {
                        s.connect(group, t.url(), controlKey);
                        s.register(t.key());
                        s.openStream();
                        s.gotFullMap.get(120, TimeUnit.SECONDS);
                    } finally {
                        inflight.release();
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get(30, TimeUnit.MINUTES);
            System.err.printf("[rss] %s: %d nodes joined in %.1f s, streams open%n", t.label(), n,
                    (System.nanoTime() - t0) / 1e9);
        }
        System.err.printf("[rss] holding %d s%n", hold);
        Thread.sleep(hold * 1000L);
        long[][] before = new long[targets.size()][];
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            // RSS and threads first, untouched by jcmd (an attach starts a thread)
            before[i] = new long[] {ProcStats.rssBytes(t.pid()), threads(t.pid()), ProcStats.heapUsedBytes(t.pid())};
            if (before[i][2] < 0 && t.metrics() != null) before[i][2] = goHeapInUse(t.metrics());
        }
        String out = System.getenv("LATTICE_RSS_OUT");
        if (out != null && !out.isEmpty()) {
            for (Target t : targets) {
                String nmt = ProcStats.nativeMemory(t.pid());
                if (nmt != null) Files.writeString(Path.of(out, "nmt-" + t.label() + "-" + n + ".txt"), nmt);
                // resident memory split into anonymous and file-backed (a binary's text, a class archive)
                Files.copy(Path.of("/proc/" + t.pid() + "/smaps_rollup"), Path.of(out, "smaps-" + t.label() + "-" + n + ".txt"),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            ProcStats.gc(t.pid());
            long live = ProcStats.heapUsedBytes(t.pid());
            System.out.printf("| %s | %d | %.1f | %.1f | %s | %s | %d |%n", t.label(), n, before[i][0] / 1048576.0,
                    ProcStats.peakRssBytes(t.pid()) / 1048576.0, mib(before[i][2]), mib(live), before[i][1]);
        }
        for (Target t : targets) for (SimNode s : t.nodes()) s.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        pool.shutdownNow();
        System.exit(0);
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "–" : String.format("%.1f", bytes / 1048576.0);
    }

    /** A Go server's heap in use (go_memstats_heap_inuse_bytes on its Prometheus endpoint), or -1. */
    private static long goHeapInUse(String metricsUrl) {
        try (var client = java.net.http.HttpClient.newHttpClient()) {
            String body = client.send(java.net.http.HttpRequest.newBuilder(URI.create(metricsUrl)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            for (String l : body.split("\n")) {
                if (l.startsWith("go_memstats_heap_inuse_bytes ")) return (long) Double.parseDouble(l.split(" ")[1]);
            }
        } catch (Exception e) {
            System.err.println("[rss] " + metricsUrl + ": " + e);
        }
        return -1;
    }

    private static long threads(long pid) throws Exception {
        try (var s = Files.list(Path.of("/proc/" + pid + "/task"))) {
            return s.count();
        }
    }

    private RssBench() {}
}
