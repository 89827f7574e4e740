package dev.lattice.control.policy;

import static dev.lattice.control.policy.Fixtures.node;
import static dev.lattice.control.policy.Fixtures.user;

import dev.lattice.control.store.Node;
import dev.lattice.control.store.User;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: 10,000 nodes, 1,000 users, 50 groups, 20 tags and a 500-rule policy; prints compile time and
 * per-node filterFor/canSee cost. Run with {@code -Dpolicy.bench=true -Dtest=PolicyCompileBench}.
 */
class PolicyCompileBench {
    /** The benchmark tailnet: users u1..u1000, nodes 1..N (a fifth tag-only), and the policy's HuJSON. */
    record Fixture(List<User> users, List<Node> nodes, String policy) {}

    static Fixture fixture(int nodes, int rules) {
        Random r = new Random(42);
        List<User> users = new ArrayList<>();
        for (int i = 1; i <= 1000; i++) users.add(user(i, "u" + i));
        List<Node> ns = new ArrayList<>();
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
            p.append(i == 0 ? "" : ",").append("{\"action\":\"accept\",\"src\":[\"").append(src).append("\"],\"dst\":[\"").append(dst).append("\"]}");
        }
        p.append("]}");
        return new Fixture(users, ns, p.toString());
    }

    public static void main(String[] args) throws Exception {
        int nodes = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int rules = args.length > 1 ? Integer.parseInt(args[1]) : 500;
        Fixture f = fixture(nodes, rules);
        List<User> users = f.users();
        List<Node> ns = f.nodes();
        Policy policy = PolicyParser.parse(f.policy());
        for (int round = 0; round < 3; round++) {
            long t0 = System.nanoTime();
            CompiledPolicy c = PolicyCompiler.compile(policy, ns, users);
            long t1 = System.nanoTime();
            long rulesOut = 0;
            for (Node n : ns) rulesOut += c.filterFor(n).size();
            long t2 = System.nanoTime();
            long visible = 0;
            for (int i = 0; i < 1000; i++) for (Node b : ns) if (c.canSee(ns.get(i), b)) visible++;
            long t3 = System.nanoTime();
            System.out.printf("round %d: %d nodes, %d rules: compile %.0f ms, filterFor all nodes %.0f ms (%.1f us/node, %d rules total),"
                            + " canSee %.1f ns/pair (%d visible of 1000x%d)%n", round, nodes, rules, (t1 - t0) / 1e6, (t2 - t1) / 1e6,
                    (t2 - t1) / 1e3 / nodes, rulesOut, (t3 - t2) / (1000.0 * nodes), visible, nodes);
        }
    }

    @Test
    @EnabledIfSystemProperty(named = "policy.bench", matches = "true")
    void run() throws Exception {
        main(new String[0]);
    }
}
