package dev.lattice.control.policy;

import static dev.lattice.control.policy.Fixtures.node;
import static dev.lattice.control.policy.Fixtures.user;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: 10,000 nodes (1,000 users, 20 tags) under app grants of every shape (* to * with drive's companion,
 * members to tags, autogroup:self) next to ip grants; prints compile time, all filters, and visible peers.
 * Run with {@code -Dpolicy.bench=true -Dtest=AppGrantsBench}.
 */
class AppGrantsBench {
    @Test
    @EnabledIfSystemProperty(named = "policy.bench", matches = "true")
    void tenThousandNodes() throws Exception {
        Random r = new Random(42);
        List<User> users = new ArrayList<>();
        for (int i = 1; i <= 1000; i++) users.add(user(i, "u" + i));
        List<TailnetNode> nodes = new ArrayList<>();
        for (int i = 1; i <= 10_000; i++) {
            nodes.add(r.nextInt(5) == 0 ? node(i, null, "tag:t" + r.nextInt(20)) : node(i, (long) (1 + r.nextInt(1000))));
        }
        StringBuilder p = new StringBuilder("{\"tagOwners\":{");
        for (int t = 0; t < 20; t++) p.append(t == 0 ? "" : ",").append("\"tag:t").append(t).append("\":[\"autogroup:member\"]");
        p.append("},\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":{\"tailscale.com/cap/drive\":[{\"shares\":[\"*\"]}]}},")
                .append("{\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self\"],\"ip\":[\"*\"],\"app\":{\"example.com/cap/self\":[{}]}}");
        for (int t = 0; t < 20; t++) {
            p.append(",{\"src\":[\"autogroup:member\"],\"dst\":[\"tag:t").append(t).append("\"],\"ip\":[\"tcp:443\"],\"app\":{\"example.com/cap/t")
                    .append(t).append("\":[{\"role\":\"admin\"}]}}");
        }
        p.append("]}");
        Policy policy = PolicyParser.parse(p.toString());
        for (int round = 0; round < 3; round++) {
            long t0 = System.nanoTime();
            CompiledPolicy c = PolicyCompiler.compile(policy, nodes, users);
            long t1 = System.nanoTime();
            long rules = 0;
            for (TailnetNode n : nodes) rules += c.filterFor(n).size();
            long t2 = System.nanoTime();
            long peers = 0;
            for (int i = 0; i < 100; i++) peers += c.visiblePeers(nodes.get(i), nodes).cardinality();
            long t3 = System.nanoTime();
            System.out.printf("round %d: compile %.1f ms, 10,000 filters %.1f ms (%d rules), 100 visiblePeers %.1f ms (%d peers)%n",
                    round, (t1 - t0) / 1e6, (t2 - t1) / 1e6, rules, (t3 - t2) / 1e6, peers);
        }
    }
}
