package dev.lattice.control.policy;

import static dev.lattice.control.policy.Fixtures.node;
import static dev.lattice.control.policy.Fixtures.user;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.NetPortRange;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: 10,000 nodes, 1,000 users, 50 groups, 20 tags and a 500-rule policy; prints compile time and
 * per-node filterFor/canSee cost. Run with {@code -Dpolicy.bench=true -Dtest=PolicyCompileBench}.
 *
 * <p>With {@code -Dpolicy.bench.dump=DIR} it also writes the exact tailnet (users.json, nodes.json,
 * policy.hujson), each round's numbers (lattice-result.txt) and, for 200 sampled nodes, the packet filter and
 * the visible peers (lattice-sample.json), so a reference driver (bench/policy-bench.sh) can run headscale's
 * compiler on the identical input and compare. {@code -Dpolicy.bench.rounds=N} sets the timed rounds (default 3;
 * 0 = dump only).
 */
class PolicyCompileBench {
    /** The generated input: everything a reference implementation needs to rebuild the same tailnet. */
    record Tailnet(List<User> users, List<TailnetNode> nodes, String policy) {}

    /** The one place the synthetic tailnet is defined (seeded, so every run and the dump agree). */
    static Tailnet tailnet(int nodes, int rules) {
        Random r = new Random(42);
        List<User> users = new ArrayList<>();
        for (int i = 1; i <= 1000; i++) users.add(user(i, "u" + i));
        List<TailnetNode> ns = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            boolean tagged = r.nextInt(5) == 0;
            ns.add(tagged ? node(i, null, "tag:t" + r.nextInt(20)) : node(i, (long) (1 + r.nextInt(1000))));
        }
        StringBuilder p = new StringBuilder("{\"groups\":{");
        for (int g = 0; g < 50; g++) {
            p.append(g == 0 ? "" : ",").append("\"group:g").append(g).append("\":[");
            for (int k = 0; k < 20; k++) p.append(k == 0 ? "" : ",").append("\"u").append(1 + r.nextInt(1000)).append("@\"");
            p.append(']');
        }
        p.append("},\"tagOwners\":{");
        for (int t = 0; t < 20; t++) p.append(t == 0 ? "" : ",").append("\"tag:t").append(t).append("\":[\"group:g").append(t).append("\"]");
        p.append("},\"acls\":[");
        for (int i = 0; i < rules; i++) {
            String src = switch (r.nextInt(4)) {
                case 0 -> "group:g" + r.nextInt(50);
                case 1 -> "u" + (1 + r.nextInt(1000)) + "@";
                case 2 -> "tag:t" + r.nextInt(20);
                default -> "autogroup:member";
            };
            String dst = switch (r.nextInt(5)) {
                case 0 -> "tag:t" + r.nextInt(20) + ":22,443";
                case 1 -> "group:g" + r.nextInt(50) + ":80";
                case 2 -> "autogroup:self:*";
                case 3 -> "100.64." + r.nextInt(40) + ".0/24:8000-9000";
                default -> "u" + (1 + r.nextInt(1000)) + "@:*";
            };
            // Tailscale and headscale reject tag sources for autogroup:self; keep the policy valid for both (the
            // random draws stay the same, so the other rules do not move).
            if (src.startsWith("tag:") && dst.startsWith("autogroup:self")) src = "autogroup:member";
            p.append(i == 0 ? "" : ",").append("{\"action\":\"accept\",\"src\":[\"").append(src).append("\"],\"dst\":[\"").append(dst).append("\"]}");
        }
        return new Tailnet(users, ns, p.append("]}").toString());
    }

    public static void main(String[] args) throws Exception {
        int nodes = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int rules = args.length > 1 ? Integer.parseInt(args[1]) : 500;
        String dumpProp = System.getProperty("policy.bench.dump", "");
        Path dump = dumpProp.isBlank() ? null : Path.of(dumpProp);
        Tailnet t = tailnet(nodes, rules);
        List<TailnetNode> ns = t.nodes();
        if (dump != null) writeTailnet(dump, t);
        Policy policy = PolicyParser.parse(t.policy());
        // policy.bench.rounds=0 only dumps (the script needs the input before it can run the reference first).
        int rounds = Integer.getInteger("policy.bench.rounds", 3);
        StringBuilder results = new StringBuilder();
        CompiledPolicy c = null;
        for (int round = 0; round < rounds; round++) {
            long t0 = System.nanoTime();
            c = PolicyCompiler.compile(policy, ns, t.users());
            long t1 = System.nanoTime();
            long rulesOut = 0;
            for (TailnetNode n : ns) rulesOut += c.filterFor(n).size();
            long t2 = System.nanoTime();
            long visible = 0;
            for (int i = 0; i < 1000; i++) {
                TailnetNode a = ns.get(i);
                for (TailnetNode b : ns) if (b != a && c.canSee(a, b)) visible++;
            }
            long t3 = System.nanoTime();
            // Every unordered pair once, like headscale's BuildPeerMap (canSee is symmetric by definition).
            long pairs = 0, linked = 0;
            for (int i = 0; i < ns.size(); i++) {
                TailnetNode a = ns.get(i);
                for (int j = i + 1; j < ns.size(); j++, pairs++) if (c.canSee(a, ns.get(j))) linked++;
            }
            long t4 = System.nanoTime();
            System.out.printf("round %d: %d nodes, %d rules: compile %.0f ms, filterFor all nodes %.0f ms (%.1f us/node, %d rules total),"
                            + " canSee %.1f ns/pair (%d visible of 1000x%d), all pairs %.0f ms (%d linked)%n", round, nodes, rules,
                    (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t2 - t1) / 1e3 / nodes, rulesOut, (t3 - t2) / (1000.0 * nodes), visible,
                    nodes, (t4 - t3) / 1e6, linked);
            results.append(String.format("round=%d compile_ms=%.1f filter_ms=%.1f filter_rules=%d visible_ns_per_pair=%.2f"
                            + " visible=%d peermap_ms=%.1f peermap_pairs=%d peermap_linked=%d%n", round, (t1 - t0) / 1e6,
                    (t2 - t1) / 1e6, rulesOut, (t3 - t2) / (1000.0 * nodes), visible, (t4 - t3) / 1e6, pairs, linked));
        }
        if (dump != null) {
            if (rounds > 0) Files.writeString(dump.resolve("lattice-result.txt"), results);
            writeSample(dump, ns, c != null ? c : PolicyCompiler.compile(policy, ns, t.users()));
        }
    }

    private static void writeTailnet(Path dir, Tailnet t) throws IOException {
        Files.createDirectories(dir);
        StringBuilder u = new StringBuilder("[\n");
        for (int i = 0; i < t.users().size(); i++) {
            User x = t.users().get(i);
            u.append(i == 0 ? "" : ",\n").append("{\"id\":").append(x.id()).append(",\"name\":").append(q(x.name()))
                    .append(",\"displayName\":").append(q(x.displayName())).append(",\"email\":").append(q(x.email())).append('}');
        }
        Files.writeString(dir.resolve("users.json"), u.append("\n]\n"));
        StringBuilder n = new StringBuilder("[\n");
        for (int i = 0; i < t.nodes().size(); i++) {
            TailnetNode x = t.nodes().get(i);
            n.append(i == 0 ? "" : ",\n").append("{\"id\":").append(x.id()).append(",\"user\":").append(x.userId())
                    .append(",\"tags\":").append(strings(x.tags().names())).append(",\"ipv4\":").append(q(x.ipv4().getHostAddress()))
                    .append(",\"ipv6\":").append(q(x.ipv6().getHostAddress())).append(",\"hostname\":").append(q(x.hostname()))
                    .append(",\"givenName\":").append(q(x.givenName())).append('}');
        }
        Files.writeString(dir.resolve("nodes.json"), n.append("\n]\n"));
        Files.writeString(dir.resolve("policy.hujson"), t.policy());
    }

    /** 200 seeded node ids with their filter (order-free, one entry per destination) and visible peers. */
    private static void writeSample(Path dir, List<TailnetNode> ns, CompiledPolicy c) throws IOException {
        Random r = new Random(7);
        TreeSet<Integer> idx = new TreeSet<>();
        while (idx.size() < Math.min(200, ns.size())) idx.add(r.nextInt(ns.size()));
        StringBuilder s = new StringBuilder("[\n");
        boolean first = true;
        for (int i : idx) {
            TailnetNode a = ns.get(i);
            List<FilterRule> f = c.filterFor(a);
            TreeSet<String> entries = new TreeSet<>();
            for (FilterRule fr : f) {
                List<String> src = new ArrayList<>(fr.srcIps());
                src.sort(null);
                for (NetPortRange p : fr.dstPorts()) {
                    entries.add(String.join(",", src) + "|" + (fr.ipProto() == null ? "" : fr.ipProto().toString())
                            + "|" + p.ip() + ":" + Fixtures.ports(p));
                }
            }
            List<String> peers = new ArrayList<>();
            for (TailnetNode b : ns) if (b.id() != a.id() && c.canSee(a, b)) peers.add(Long.toString(b.id()));
            s.append(first ? "" : ",\n").append("{\"id\":").append(a.id()).append(",\"filterRules\":").append(f.size())
                    .append(",\"filter\":").append(strings(List.copyOf(entries))).append(",\"peers\":[")
                    .append(String.join(",", peers)).append("]}");
            first = false;
        }
        Files.writeString(dir.resolve("lattice-sample.json"), s.append("\n]\n"));
    }

    private static String strings(List<String> xs) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < xs.size(); i++) b.append(i == 0 ? "" : ",").append(q(xs.get(i)));
        return b.append(']').toString();
    }

    /** JSON string; the generated names and addresses need no escapes beyond quotes and backslashes. */
    private static String q(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    @Test
    @EnabledIfSystemProperty(named = "policy.bench", matches = "true")
    void run() throws Exception {
        main(new String[0]);
    }
}
