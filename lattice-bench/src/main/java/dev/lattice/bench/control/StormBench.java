package dev.lattice.bench.control;

import dev.lattice.controlclient.ServerKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.wire.tailcfg.AddrPort;
import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A restart storm: N registered nodes lose their server (the script restarts it, or both replicas), and all reconnect
 * at once. Measured: the time until every node has a full netmap with all N - 1 peers, the server CPU for it, heap
 * and RSS after, and then how long one peer change (a node joining, then its new endpoints as a patch) takes to
 * reach all N streams.
 *
 * <p>Before the restart each node registers and sends one lite map request (disco key, Hostinfo), as a node that had
 * streamed would have left it stored; nothing streams then, so setting up costs no fan-out.
 *
 * <p>Usage: {@code StormBench LABEL N AUTHKEY URL[,URL...] PIDFILE RESTART_SCRIPT}. Node i uses URL i mod the count
 * (two replicas: clients split between them). PIDFILE holds the server pids, one a line; RESTART_SCRIPT stops and
 * starts the servers (same database and keys) and rewrites PIDFILE.
 */
public final class StormBench {
    public static void main(String[] args) throws Exception {
        String label = args[0];
        int n = Integer.parseInt(args[1]);
        String key = args[2];
        List<URI> urls = Arrays.stream(args[3].split(",")).map(URI::create).toList();
        Path pidFile = Path.of(args[4]);
        String restart = args[5];
        EventLoopGroup group = SimNode.eventLoops(2);
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        MachinePublicKey controlKey = ServerKey.fetch(urls.get(0), 142);

        // 1) N registered nodes (no streams: that is the join bench's business), then the connections drop.
        List<SimNode> nodes = new ArrayList<>();
        Semaphore inflight = new Semaphore(32);
        List<Future<?>> fs = new ArrayList<>();
        long r0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            SimNode s = new SimNode("sim-" + i);
            URI url = urls.get(i % urls.size());
            nodes.add(s);
            fs.add(pool.submit(() -> {
                inflight.acquire();
                try {
                    s.connect(group, url, controlKey);
                    s.register(key);
                    // As a node that streamed before the restart: its disco key is stored, so its reconnect changes
                    // nothing (a real storm writes nothing unless a client reports something new).
                    int status = s.lite(s.mapRequest().stream(false).omitPeers(true).build());
                    if (status != 200) throw new IllegalStateException(s.name + ": lite map request: " + status);
                } finally {
                    inflight.release();
                }
                return null;
            }));
        }
        for (Future<?> f : fs) f.get(60, TimeUnit.MINUTES);
        System.err.printf("%s: %d nodes registered in %.1f s; restarting%n", label, n, (System.nanoTime() - r0) / 1e9);
        for (SimNode s : nodes) s.disconnect();

        Process p = new ProcessBuilder("bash", restart).inheritIO().start();
        if (p.waitFor() != 0) throw new IllegalStateException("restart script failed: " + p.exitValue());
        long[] pids = Files.readAllLines(pidFile).stream().filter(l -> !l.isBlank()).mapToLong(Long::parseLong).toArray();

        // 2) The storm: everyone at once. A node whose connection fails retries, as a client with backoff would.
        long cpu0 = cpu(pids);
        long own0 = ownCpuMillis();
        List<URI> metrics = System.getenv().getOrDefault("LATTICE_STORM_METRICS", "").isBlank() ? List.of()
                : Arrays.stream(System.getenv("LATTICE_STORM_METRICS").split(",")).map(URI::create).toList();
        long[] messages0 = mapResponses(metrics);
        long t0 = System.nanoTime();
        AtomicInteger retries = new AtomicInteger();
        fs.clear();
        for (int i = 0; i < n; i++) {
            SimNode s = nodes.get(i);
            URI url = urls.get(i % urls.size());
            fs.add(pool.submit(() -> {
                for (int attempt = 1; ; attempt++) {
                    try {
                        s.connect(group, url, controlKey, 120);
                        s.openStream();
                        s.gotFullMap.get(300, TimeUnit.SECONDS);
                        return null;
                    } catch (Exception e) {
                        if (attempt >= 10) throw e;
                        if (retries.incrementAndGet() <= 3) {
                            StackTraceElement at = java.util.Arrays.stream(e.getStackTrace())
                                    .filter(f -> f.getClassName().startsWith("dev.lattice.bench")).findFirst().orElse(null);
                            System.err.println(label + ": reconnecting after " + e + " at " + at);
                        }
                        s.disconnect();
                        // As tailscaled's control client: exponential backoff with jitter (1 s, 2 s, 4 s... at most
                        // 30 s), so the retries of a storm do not become a storm of their own.
                        long backoff = Math.min(30_000L, 1000L << Math.min(attempt - 1, 5));
                        Thread.sleep(backoff / 2 + java.util.concurrent.ThreadLocalRandom.current().nextLong(backoff));
                    }
                }
            }));
        }
        int failed = 0;
        for (Future<?> f : fs) {
            try {
                f.get(30, TimeUnit.MINUTES);
            } catch (Exception e) {
                failed++;
            }
        }
        double stormSec = (System.nanoTime() - t0) / 1e9;
        long stormCpu = cpu(pids) - cpu0;
        // The generator shares the machine: what it took of it during the storm, and how busy the machine was.
        System.err.printf("%s: storm of %d: generator CPU %d ms, load average %s%n", label, n, ownCpuMillis() - own0,
                Files.readString(Path.of("/proc/loadavg")).trim());
        if (!metrics.isEmpty()) {
            // Each message costs the server a write and a seal and its client a read: deltas in a storm are not free.
            long[] messages = mapResponses(metrics);
            System.err.printf("%s: during the storm the server sent %d full maps and %d deltas (%.1f per node); %d streams open after it%n",
                    label, messages[0] - messages0[0], messages[1] - messages0[1], (messages[1] - messages0[1]) / (double) n,
                    messages[2]);
        }
        int partial = 0;
        for (SimNode s : nodes) if (s.fullPeers >= 0 && s.fullPeers < n - 1) partial++;
        if (failed > 0 || partial > 0 || retries.get() > 0) {
            System.err.printf("%s: %d nodes got no map, %d a map without all %d peers, %d reconnects%n", label, failed,
                    partial, n - 1, retries.get());
        }
        Thread.sleep(3000); // let the storm settle
        long heap = 0; // -1 if any server is not a JVM
        long rss = 0;
        long peak = 0;
        for (long pid : pids) peak += ProcStats.peakRssBytes(pid); // before the forced GC: what the storm took
        for (long pid : pids) {
            ProcStats.gc(pid);
            long h = ProcStats.heapUsedBytes(pid);
            heap = heap < 0 || h < 0 ? -1 : heap + h;
            rss += ProcStats.rssBytes(pid);
        }

        // 3) One change after the storm: a node joins (through the first server), then reports new endpoints.
        List<SimNode> streaming = nodes.stream().filter(s -> s.gotFullMap.isDone() && !s.gotFullMap.isCompletedExceptionally()).toList();
        SimNode probe = new SimNode("probe");
        probe.connect(group, urls.get(0), controlKey);
        String addJfr = System.getenv("LATTICE_STORM_ADD_JFR"); // a directory: profiles of the add alone
        jdk.jfr.Recording own = null;
        if (addJfr != null && !addJfr.isBlank()) {
            for (long pid : pids) jcmd(pid, "JFR.start", "name=add", "settings=profile", "filename=" + addJfr + "/server-add-" + pid + ".jfr");
            own = new jdk.jfr.Recording(jdk.jfr.Configuration.getConfiguration("profile"));
            own.start();
        }
        long[] add = ControlLoadBench.waitAll(streaming,
                m -> ControlLoadBench.hasProbe(m.peersChanged()) || ControlLoadBench.hasProbe(m.peers()), () -> {
                    probe.register(key);
                    probe.openStream();
                });
        if (own != null) {
            for (long pid : pids) jcmd(pid, "JFR.stop", "name=add");
            own.stop();
            own.dump(Path.of(addJfr, "generator-add.jfr"));
            own.close();
        }
        long[] patch = ControlLoadBench.waitAll(streaming, m -> (m.peersChangedPatch() != null
                && m.peersChangedPatch().stream().anyMatch(c -> c.endpoints() != null && !c.endpoints().isEmpty()))
                || ControlLoadBench.probeWithEndpoints(m.peersChanged()) || ControlLoadBench.probeWithEndpoints(m.peers()),
                () -> probe.lite(probe.mapRequest().stream(false).omitPeers(true)
                        .endpoints(List.of(AddrPort.parse("192.0.2.55:41641"))).build()));

        if (!metrics.isEmpty() && (add.length < streaming.size() || patch.length < streaming.size())) {
            // A change that did not reach every stream: were the streams still there?
            System.err.printf("%s: %d streams open at the server after the add and patch (%d had their full maps)%n", label,
                    mapResponses(metrics)[2], streaming.size());
        }
        System.out.printf("| %s | %d | %.1f | %d | %d | %d | %d | %d | %d | %s | %.0f | %.0f |%n", label, n, stormSec, stormCpu,
                n - failed - partial, ControlLoadBench.pct(add, 50), ControlLoadBench.pct(add, 99),
                ControlLoadBench.pct(patch, 50), ControlLoadBench.pct(patch, 99),
                heap < 0 ? "–" : String.format("%.0f", heap / 1048576.0), rss / 1048576.0, peak / 1048576.0);
        probe.close();
        for (SimNode s : nodes) s.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        pool.shutdownNow();
        System.exit(0);
    }

    /** Full maps and deltas sent so far, and map streams open now, on the servers whose Prometheus endpoints these are. */
    private static long[] mapResponses(List<URI> metrics) throws Exception {
        long[] out = new long[3];
        try (var http = java.net.http.HttpClient.newHttpClient()) {
            for (URI u : metrics) {
                String body = http.send(java.net.http.HttpRequest.newBuilder(u).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
                for (String line : body.split("\n")) {
                    if (line.startsWith("lattice_map_sessions ")) out[2] += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    if (!line.startsWith("lattice_map_responses_total{")) continue;
                    long v = (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    if (line.contains("kind=\"full\"")) out[0] += v;
                    else if (line.contains("kind=\"delta\"")) out[1] += v;
                }
            }
        }
        return out;
    }

    private static void jcmd(long pid, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(pid)));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (p.waitFor() != 0) throw new IllegalStateException("jcmd " + String.join(" ", args) + " failed");
    }

    private static long ownCpuMillis() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime() / 1_000_000;
    }

    private static long cpu(long[] pids) throws Exception {
        long sum = 0;
        for (long pid : pids) sum += ProcStats.cpuMillis(pid);
        return sum;
    }

    private StormBench() {}
}
