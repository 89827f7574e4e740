package dev.lattice.control.server;

import dev.lattice.control.policy.CompiledPolicy;
import dev.lattice.control.policy.PolicyException;
import dev.lattice.control.policy.PolicyManager;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.NetPortRange;
import dev.lattice.wire.tailcfg.PortRange;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import tools.jackson.databind.JsonNode;

/**
 * A stand-in for the HuJSON engine, to test the plumbing around {@link CompiledPolicy}: one statement per line.
 * <pre>
 * accept SRC DST        SRC/DST: * | tag:x | user:NAME    (DST's nodes accept any port from SRC's nodes)
 * owner NAME tag:x      user NAME may own tag:x (tag:x is defined)
 * owner tag:y tag:x     nodes tagged tag:y may own tag:x
 * route PREFIX          autoApprovers.routes PREFIX: [*]
 * exit                  autoApprovers.exitNode: [*]
 * useroute SEL PREFIX   viewers SEL may use PREFIX (with no useroute line, every viewer may use every route)
 * failtest              a policy test that fails (only when tests run)
 * error L C MESSAGE     a parse error at line L, column C
 * </pre>
 */
final class FakePolicyEngine implements PolicyManager.Engine {
    final AtomicInteger compilations = new AtomicInteger();

    @Override
    public CompiledPolicy compile(String text, List<TailnetNode> nodes, List<User> users, boolean runTests) throws PolicyException {
        compilations.incrementAndGet();
        List<String[]> accepts = new ArrayList<>();
        List<String[]> owners = new ArrayList<>();
        List<String[]> useRoutes = new ArrayList<>();
        List<IpPrefix> routes = new ArrayList<>();
        boolean exit = false;
        for (String raw : text.split("\n")) {
            String[] w = raw.strip().split("\\s+");
            switch (w[0]) {
                case "", "#" -> {}
                case "accept" -> accepts.add(w);
                case "owner" -> owners.add(w);
                case "route" -> routes.add(IpPrefix.parse(w[1]));
                case "useroute" -> useRoutes.add(w);
                case "exit" -> exit = true;
                case "failtest" -> {
                    if (runTests) throw new PolicyException("test failed: tag:a cannot reach tag:b:80");
                }
                case "error" -> throw new PolicyException(String.join(" ", List.of(w).subList(3, w.length)),
                        Integer.parseInt(w[1]), Integer.parseInt(w[2]));
                default -> throw new PolicyException("unknown statement " + w[0]);
            }
        }
        boolean exitOk = exit;
        return new CompiledPolicy() {
            boolean matches(String sel, TailnetNode n) {
                if (sel.equals("*")) return true;
                if (sel.startsWith("tag:")) return n.tags().contains(sel);
                String name = sel.substring("user:".length());
                return !n.isTagged() && users.stream().anyMatch(u -> u.name().equals(name) && Long.valueOf(u.id()).equals(n.userId()));
            }

            TailnetNode current(TailnetNode n) {
                return nodes.stream().filter(x -> x.id() == n.id()).findFirst()
                        .orElseThrow(() -> new IllegalStateException("node " + n.id() + " unknown to this compilation"));
            }

            @Override
            public List<FilterRule> filterFor(TailnetNode node) {
                TailnetNode me = current(node);
                List<FilterRule> out = new ArrayList<>();
                for (String[] a : accepts) {
                    if (!matches(a[2], me)) continue;
                    List<String> src = nodes.stream().filter(n -> matches(a[1], n) && n.ipv4() != null)
                            .map(n -> n.ipv4().getHostAddress()).toList();
                    if (src.isEmpty()) continue;
                    out.add(new FilterRule(src, null, List.of(new NetPortRange(me.ipv4().getHostAddress() + "/32", null, PortRange.ANY)), null, null));
                }
                return out;
            }

            boolean reaches(TailnetNode from, TailnetNode to) {
                return accepts.stream().anyMatch(a -> matches(a[1], from) && matches(a[2], to));
            }

            @Override
            public boolean canSee(TailnetNode viewer, TailnetNode peer) {
                TailnetNode v = current(viewer), p = current(peer);
                return reaches(v, p) || reaches(p, v);
            }

            @Override
            public List<IpPrefix> reduceRoutes(TailnetNode viewer, List<IpPrefix> rs) {
                if (useRoutes.isEmpty()) return rs; // no "useroute" lines: every viewer may use every route
                TailnetNode v = current(viewer);
                return rs.stream().filter(r -> useRoutes.stream().anyMatch(u -> matches(u[1], v) && IpPrefix.parse(u[2]).equals(r))).toList();
            }

            @Override
            public boolean userMayOwnTag(long userId, String tag) {
                return owners.stream().anyMatch(o -> o[2].equals(tag)
                        && users.stream().anyMatch(u -> u.id() == userId && u.name().equals(o[1])));
            }

            @Override
            public boolean tagMayOwnTag(String ownerTag, String tag) {
                return owners.stream().anyMatch(o -> o[1].equals(ownerTag) && o[2].equals(tag));
            }

            @Override
            public boolean autoApprovesRoute(TailnetNode node, IpPrefix route) {
                return routes.stream().anyMatch(r -> r.equals(route));
            }

            @Override
            public boolean autoApprovesExitNode(TailnetNode node) {
                return exitOk;
            }

            @Override
            public JsonNode sshPolicyFor(TailnetNode node) {
                return null;
            }

            @Override
            public List<String> definedTags() {
                return owners.stream().map(o -> o[2]).distinct().toList();
            }
        };
    }
}
