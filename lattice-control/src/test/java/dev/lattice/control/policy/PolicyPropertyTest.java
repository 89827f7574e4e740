package dev.lattice.control.policy;

import static dev.lattice.control.policy.Fixtures.canonical;
import static dev.lattice.control.policy.Fixtures.node;
import static dev.lattice.control.policy.Fixtures.routes;
import static dev.lattice.control.policy.Fixtures.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Seeded random policies and tailnets: invariances that must hold whatever the policy says. */
class PolicyPropertyTest {
    static final String[] SRC = {"*", "alice@", "bob@", "carol@", "group:a", "group:b", "tag:web", "tag:db",
            "autogroup:member", "autogroup:tagged", "100.64.0.0/30", "fd7a:115c:a1e0::/120", "h1"};
    static final String[] DST = {"*", "alice@", "bob@", "group:a", "tag:web", "tag:db", "autogroup:member",
            "autogroup:tagged", "autogroup:self", "autogroup:internet", "10.0.0.0/16", "h1", "100.64.0.2"};
    static final String[] PORTS = {"*", "22", "80,443", "1000-2000"};
    static final String[] PROTO = {null, "tcp", "udp", "icmp", "47"};

    record World(List<TailnetNode> nodes, List<User> users) {}

    static World world(Random r) {
        List<User> users = List.of(user(1, "alice"), user(2, "bob"), user(3, "carol"));
        List<TailnetNode> nodes = new ArrayList<>();
        int n = 4 + r.nextInt(20);
        for (int i = 1; i <= n; i++) {
            Long owner = r.nextInt(5) == 0 ? null : (long) (1 + r.nextInt(3));
            String[] tags = switch (r.nextInt(5)) {
                case 0 -> new String[] {"tag:web"};
                case 1 -> new String[] {"tag:db", "tag:web"};
                default -> owner == null ? new String[] {"tag:db"} : new String[0];
            };
            TailnetNode node = node(i, owner, tags);
            if (r.nextInt(6) == 0) node = routes(node, "10.0.0.0/24", "0.0.0.0/0");
            nodes.add(node);
        }
        return new World(nodes, users);
    }

    static List<String> rules(Random r, int count) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            List<String> src = new ArrayList<>(), dst = new ArrayList<>();
            for (int k = 0, m = 1 + r.nextInt(3); k < m; k++) src.add("\"" + SRC[r.nextInt(SRC.length)] + "\"");
            String proto = PROTO[r.nextInt(PROTO.length)];
            for (int k = 0, m = 1 + r.nextInt(3); k < m; k++) {
                String ports = proto == null || proto.equals("tcp") || proto.equals("udp") ? PORTS[r.nextInt(PORTS.length)] : "*";
                dst.add("\"" + DST[r.nextInt(DST.length)] + ":" + ports + "\"");
            }
            // autogroup:self takes user sources only (as Tailscale): others become autogroup:member, draws unchanged.
            if (dst.stream().anyMatch(d -> d.startsWith("\"autogroup:self:"))) {
                src.replaceAll(x -> x.matches("\"(\\*|[a-z]+@|group:.*|autogroup:member)\"") ? x : "\"autogroup:member\"");
            }
            out.add("{\"action\":\"accept\",\"src\":" + src + ",\"dst\":" + dst + (proto == null ? "" : ",\"proto\":\"" + proto + "\"") + "}");
        }
        return out;
    }

    static String policy(List<String> rules, List<String> groupA) {
        return "{\"groups\":{\"group:a\":" + groupA + ",\"group:b\":[\"bob@\",\"carol@\"]},"
                + "\"hosts\":{\"h1\":\"100.64.0.3\"},\"tagOwners\":{\"tag:web\":[\"group:a\"],\"tag:db\":[\"tag:web\"]},"
                + "\"acls\":" + rules + "}";
    }

    /** Everything the compiled policy says about the tailnet, order-free. */
    static TreeSet<String> summary(CompiledPolicy p, World w) {
        TreeSet<String> out = new TreeSet<>();
        for (TailnetNode a : w.nodes()) {
            for (String rule : canonical(p.filterFor(a))) out.add(a.id() + "<-" + rule);
            java.util.BitSet expected = new java.util.BitSet();
            for (TailnetNode b : w.nodes()) {
                if (p.canSee(a, b)) out.add(a.id() + "~" + b.id());
                if (p.canSee(a, b) && b.id() != a.id()) expected.set((int) b.id());
            }
            // The bulk form the netmap uses must say the same as the pairwise one.
            org.assertj.core.api.Assertions.assertThat(p.visiblePeers(a, w.nodes())).as("visiblePeers of %d", a.id()).isEqualTo(expected);
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
    void ruleOrderAndGroupMemberOrderDoNotChangeTheResult(long seed) throws Exception {
        Random r = new Random(seed);
        World w = world(r);
        List<String> rules = rules(r, 1 + r.nextInt(8));
        List<String> group = new ArrayList<>(List.of("\"alice@\"", "\"carol@\""));
        TreeSet<String> base = summary(PolicyCompiler.compile(PolicyParser.parse(policy(rules, group)), w.nodes(), w.users()), w);
        for (int i = 0; i < 5; i++) {
            List<String> shuffled = new ArrayList<>(rules);
            Collections.shuffle(shuffled, r);
            List<String> g = new ArrayList<>(group);
            Collections.shuffle(g, r);
            TreeSet<String> other = summary(PolicyCompiler.compile(PolicyParser.parse(policy(shuffled, g)), w.nodes(), w.users()), w);
            assertThat(other).isEqualTo(base);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116})
    void addingAnAllowRuleNeverRemovesAccess(long seed) throws Exception {
        Random r = new Random(seed);
        World w = world(r);
        List<String> rules = rules(r, r.nextInt(6));
        List<String> group = List.of("\"alice@\"");
        CompiledPolicy before = PolicyCompiler.compile(PolicyParser.parse(policy(rules, group)), w.nodes(), w.users());
        List<String> more = new ArrayList<>(rules);
        more.add(r.nextInt(more.size() + 1), rules(r, 1).getFirst());
        CompiledPolicy after = PolicyCompiler.compile(PolicyParser.parse(policy(more, group)), w.nodes(), w.users());
        for (TailnetNode a : w.nodes()) {
            assertThat(allowed(after.filterFor(a))).containsAll(allowed(before.filterFor(a)));
            for (TailnetNode b : w.nodes()) if (before.canSee(a, b)) assertThat(after.canSee(a, b)).isTrue();
        }
    }

    /** (source entry, proto, destination) triples: merging may change SrcIPs grouping, not what is allowed. */
    static TreeSet<String> allowed(List<dev.lattice.wire.tailcfg.FilterRule> rules) {
        TreeSet<String> out = new TreeSet<>();
        for (var rule : rules) {
            for (String s : rule.srcIps()) for (var d : rule.dstPorts()) out.add(s + "|" + rule.ipProto() + "|" + d.ip() + ":" + Fixtures.ports(d));
        }
        return out;
    }
}
