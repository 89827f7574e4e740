package dev.lattice.control.policy;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.machine.CountingSinks;
import dev.lattice.control.netmap.MapSessions;
import dev.lattice.control.netmap.TailcfgNodes;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.NodeTags;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: the netmap update after a policy change, for the {@link PolicyCompileBench} tailnet (10,000 nodes, 500
 * rules) with a map session open for each of the first S nodes (in-process; every message is JSON-encoded and
 * zstd-framed as for a real stream, then dropped). Prints, per scenario, the compile time and the time until every
 * session has processed the change, with messages and bytes sent; and the same sessions' cost of one full map each,
 * which is what a policy change cost before deltas (headscale also rebuilds each node's whole netmap).
 * Run with {@code -Dpolicy.bench=true -Dtest=NetmapUpdateBench [-Dpolicy.bench.sessions=S]}; with
 * {@code -Dpolicy.bench.reports=true} every node carries what real clients report ({@link ClientReports}: Hostinfo and
 * endpoints), which the fixtures' bare nodes do not.
 */
class NetmapUpdateBench {
    public static void main(String[] args) throws Exception {
        int nodeCount = Integer.getInteger("policy.bench.nodes", 10_000);
        int sessionCount = Integer.getInteger("policy.bench.sessions", 1_000);
        boolean reports = Boolean.getBoolean("policy.bench.reports");
        PolicyCompileBench.Tailnet f = PolicyCompileBench.tailnet(nodeCount, 500);
        Path dir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"), "netmap-bench");
        try (Store store = Store.openSqlite(dir.resolve("db.sqlite"), Clock.systemUTC())) {
            long t = System.nanoTime();
            List<User> users = new ArrayList<>();
            for (User u : f.users()) users.add(store.users().create(u.name(), u.name(), u.email()));
            Tailnet tailnet = new Tailnet(store, IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes()), Clock.systemUTC());
            for (TailnetNode n : f.nodes()) {
                Long owner = n.userId() == null ? null : users.get((int) (n.userId() - 1)).id();
                TailnetNode.Builder b = n.toBuilder().id(0).userId(owner);
                if (reports) {
                    b.hostinfo(Tailcfg.json().readValue(ClientReports.hostinfoJson(n.id(), n.hostname()), Hostinfo.class))
                            .endpoints(ClientReports.endpoints(n.id()).stream().map(AddrPort::parse).toList());
                }
                tailnet.add(b.build());
            }
            System.out.printf("tailnet: %d nodes%s stored in %.1f s%n", nodeCount, reports ? " with client reports" : "",
                    (System.nanoTime() - t) / 1e9);
            TailcfgNodes tn = new TailcfgNodes(tailnet, "bench.test");
            try (MapSessions sessions = new MapSessions(tailnet, tn, () -> null, () -> null, "bench.test")) {
                String text = f.policy();
                sessions.setPolicy(compile(text, tailnet));
                List<TailnetNode> all = tailnet.nodes();
                // Online before any stream opens, so opening does not send every session an online patch per node.
                for (int i = 0; i < sessionCount; i++) tailnet.streamOpened(all.get(i).id());
                LongAdder bytes = new LongAdder(), msgs = new LongAdder();
                t = System.nanoTime();
                for (int i = 0; i < sessionCount; i++) {
                    sessions.open(all.get(i).id(), CapabilityVersion.CURRENT, CountingSinks.open(bytes, msgs));
                }
                Row open = new Row("open: a full map each", 0, System.nanoTime() - t, msgs.sumThenReset(), bytes.sumThenReset());
                List<Row> rows = new ArrayList<>(List.of(open));

                // One rule edited: its destination moves to another tag.
                String edited = text.replaceFirst("\"dst\":\\[\"[^\"]*\"\\]", "\"dst\":[\"tag:t19:5432\"]");
                rows.add(policyChange("edit one rule", edited, tailnet, sessions, sessionCount, bytes, msgs));
                // One node retagged by the admin: its update, then the recompile.
                // The same node for any S >= 1,000 (an untagged member most nodes see), with a session of its own.
                TailnetNode victim = all.get(Math.min(500, sessionCount / 2));
                long before = sessions.flushes();
                t = System.nanoTime();
                tailnet.update(victim.id(), Change.Kind.UPDATED, n -> n.toBuilder().tags(NodeTags.of("tag:t3")).userId(null).build());
                awaitFlushes(sessions, before + sessionCount);
                rows.add(new Row("retag one node: the node's own update", 0, System.nanoTime() - t, msgs.sumThenReset(), bytes.sumThenReset()));
                rows.add(policyChange("retag one node: then the recompiled policy", edited, tailnet, sessions, sessionCount, bytes, msgs));
                // The same change as a full map for every session: the cost before deltas.
                before = sessions.flushes();
                t = System.nanoTime();
                tailnet.announceFull();
                awaitFlushes(sessions, before + sessionCount);
                rows.add(new Row("same, full map to every session", 0, System.nanoTime() - t, msgs.sumThenReset(), bytes.sumThenReset()));

                System.out.printf("%n%d nodes, 500 rules, %d sessions%n", nodeCount, sessionCount);
                System.out.println("| scenario | compile ms | fan-out ms | messages | MiB sent (zstd) |");
                System.out.println("|---|---|---|---|---|");
                for (Row r : rows) {
                    System.out.printf("| %s | %s | %.0f | %d | %.1f |%n", r.name, r.compileNanos == 0 ? "–" : String.format("%.0f", r.compileNanos / 1e6),
                            r.fanoutNanos / 1e6, r.messages, r.bytes / 1048576.0);
                }
            }
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    record Row(String name, long compileNanos, long fanoutNanos, long messages, long bytes) {}

    static CompiledPolicy compile(String text, Tailnet tailnet) throws PolicyException {
        return PolicyCompiler.compile(PolicyParser.parse(text), tailnet.nodes(), tailnet.users());
    }

    static Row policyChange(String name, String text, Tailnet tailnet, MapSessions sessions, int sessionCount, LongAdder bytes,
            LongAdder msgs) throws Exception {
        long t0 = System.nanoTime();
        CompiledPolicy c = compile(text, tailnet);
        long t1 = System.nanoTime();
        long before = sessions.flushes();
        sessions.setPolicy(c);
        awaitFlushes(sessions, before + sessionCount);
        return new Row(name, t1 - t0, System.nanoTime() - t1, msgs.sumThenReset(), bytes.sumThenReset());
    }

    static void awaitFlushes(MapSessions sessions, long target) throws InterruptedException {
        while (sessions.flushes() < target) Thread.sleep(2);
    }

    @Test
    @EnabledIfSystemProperty(named = "policy.bench", matches = "true")
    void run() throws Exception {
        main(new String[0]);
    }
}
