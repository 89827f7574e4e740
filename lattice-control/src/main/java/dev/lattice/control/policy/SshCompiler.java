package dev.lattice.control.policy;

import dev.lattice.control.policy.Policy.SshRule;
import dev.lattice.control.policy.PolicyCompiler.Compilation;
import dev.lattice.control.policy.PolicyCompiler.NodeInfo;
import dev.lattice.control.store.User;
import dev.lattice.control.config.GoDuration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The {@code ssh} section as tailcfg.SSHPolicy JSON for one destination node, as headscale builds it: one rule per
 * policy rule that targets the node, principals are source node IPs (per user, users by id, then tagged nodes
 * once per tag), check rules before accept rules.
 */
final class SshCompiler {
    private final Compilation c;

    SshCompiler(Compilation c) {
        this.c = c;
    }

    JsonNode forNode(NodeInfo node) {
        List<ObjectNode> checks = new ArrayList<>(), accepts = new ArrayList<>();
        for (SshRule rule : c.policy.ssh()) {
            IpSet.Builder sb = new IpSet.Builder();
            for (Alias a : rule.src()) sb.addAll(c.resolve(a));
            IpSet src = sb.build();
            if (src.isEmpty()) continue;
            boolean check = rule.action().equals("check");
            List<ObjectNode> out = check ? checks : accepts;
            ObjectNode action = action(check);
            Map<String, String> base = new TreeMap<>();
            boolean nonRoot = rule.users().contains(Alias.NONROOT);
            if (nonRoot) base.put("*", "=");
            base.put("root", rule.users().contains("root") ? "root" : "");
            for (String u : rule.users()) {
                if (!u.equals("root") && !u.equals(Alias.NONROOT) && !isLocalpartWildcard(u)) base.put(u, u);
            }
            Map<Long, String> localparts = localparts(rule);

            // Sources grouped by user (ids ascending), tagged nodes after, once per tag.
            TreeMap<Long, IpSet.Builder> byUser = new TreeMap<>();
            List<String> tagged = new ArrayList<>();
            for (NodeInfo n : c.nodes) {
                if (!n.in(src)) continue;
                if (n.tagged()) {
                    for (int t = 0; t < n.node.tags().size(); t++) tagged.addAll(n.ipStrings());
                } else if (n.node.userId() != null) {
                    n.addTo(byUser.computeIfAbsent(n.node.userId(), k -> new IpSet.Builder()));
                }
            }
            Map<Long, List<String>> principals = new TreeMap<>();
            byUser.forEach((uid, b) -> principals.put(uid, addresses(b.build())));

            boolean selfDst = rule.dst().stream().anyMatch(a -> a instanceof Alias.AutoGroup ag && ag.is(Alias.SELF));
            List<Alias> other = rule.dst().stream().filter(a -> !(a instanceof Alias.AutoGroup ag && ag.is(Alias.SELF))).toList();
            if (selfDst && !node.tagged() && node.node.userId() != null) {
                List<String> p = principals.get(node.node.userId());
                if (p != null && !p.isEmpty()) emit(out, p, base, action, rule, localparts.get(node.node.userId()));
            }
            if (!other.isEmpty()) {
                IpSet.Builder db = new IpSet.Builder();
                for (Alias a : other) db.addAll(c.resolve(a));
                if (node.in(db.build())) {
                    if (!localparts.isEmpty()) {
                        principals.forEach((uid, p) -> emit(out, p, base, action, rule, localparts.get(uid)));
                        if (!tagged.isEmpty()) emit(out, tagged, base, action, rule, null);
                    } else {
                        List<String> all = new ArrayList<>();
                        principals.values().forEach(all::addAll);
                        all.addAll(tagged);
                        if (!all.isEmpty()) emit(out, all, base, action, rule, null);
                    }
                } else if (!localparts.isEmpty() && node.in(src)) {
                    // The source node itself, outside the destinations, still gets its own user's localpart rule.
                    if (node.tagged()) {
                        emit(out, node.ipStrings(), base, action, rule, null);
                    } else if (node.node.userId() != null && principals.containsKey(node.node.userId())) {
                        emit(out, principals.get(node.node.userId()), base, action, rule, localparts.get(node.node.userId()));
                    }
                }
            }
        }
        ObjectNode policy = PolicyCompiler.JSON.createObjectNode();
        ArrayNode rules = policy.putArray("rules");
        checks.forEach(rules::add);
        accepts.forEach(rules::add);
        return policy;
    }

    /**
     * Headscale's {@code SSHCheckParams}: the check period of the first {@code check} rule whose sources hold
     * {@code src} and whose destinations hold {@code dst} (autogroup:self: both untagged and of one user); empty when
     * no check rule covers the pair. Read from the policy, never from the URL the client fetched.
     */
    Optional<Duration> checkPeriod(NodeInfo src, NodeInfo dst) {
        for (SshRule rule : c.policy.ssh()) {
            if (!rule.action().equals("check")) continue;
            IpSet.Builder sb = new IpSet.Builder();
            for (Alias a : rule.src()) sb.addAll(c.resolve(a));
            if (!src.in(sb.build())) continue;
            for (Alias d : rule.dst()) {
                if (d instanceof Alias.AutoGroup ag && ag.is(Alias.SELF)) {
                    Long owner = src.node.userId();
                    if (!src.tagged() && !dst.tagged() && owner != null && owner.equals(dst.node.userId())) return Optional.of(period(rule));
                } else if (dst.in(c.resolve(d))) {
                    return Optional.of(period(rule));
                }
            }
        }
        return Optional.empty();
    }

    /** Tailscale's default when a check rule names no period. */
    static final Duration DEFAULT_CHECK_PERIOD = Duration.ofHours(12);

    /** A rule's period: 12 h when unset, zero for {@code always} (every connection is checked). */
    static Duration period(SshRule rule) {
        if (rule.checkPeriod() == null) return DEFAULT_CHECK_PERIOD;
        if (rule.checkPeriod().equals("always")) return Duration.ZERO;
        return GoDuration.parse(rule.checkPeriod());
    }

    private void emit(List<ObjectNode> out, List<String> principals, Map<String, String> users, ObjectNode action,
                      SshRule rule, String localpart) {
        out.add(rule(principals, users, action, rule));
        if (localpart != null) out.add(rule(principals, Map.of(localpart, localpart), action, rule));
    }

    private static ObjectNode rule(List<String> principals, Map<String, String> users, ObjectNode action, SshRule rule) {
        ObjectNode r = PolicyCompiler.JSON.createObjectNode();
        ArrayNode ps = r.putArray("principals");
        for (String ip : principals) ps.addObject().put("nodeIP", ip);
        ObjectNode u = r.putObject("sshUsers");
        users.forEach(u::put);
        r.set("action", action);
        if (!rule.acceptEnv().isEmpty()) {
            ArrayNode env = r.putArray("acceptEnv");
            rule.acceptEnv().forEach(env::add);
        }
        return r;
    }

    private ObjectNode action(boolean check) {
        ObjectNode a = PolicyCompiler.JSON.createObjectNode();
        if (check) {
            // The client substitutes the $-variables; the server answers at /machine/ssh/action.
            a.put("holdAndDelegate", c.serverUrl + "/machine/ssh/action/$SRC_NODE_ID/to/$DST_NODE_ID?local_user=$LOCAL_USER");
        } else {
            a.put("accept", true);
            a.put("allowAgentForwarding", true);
            a.put("allowLocalPortForwarding", true);
            a.put("allowRemotePortForwarding", true);
        }
        return a;
    }

    static boolean isLocalpartWildcard(String user) {
        return user.matches("localpart:\\*@[^@]+");
    }

    /** localpart:*@domain entries: user id → the local part of their email in that domain. */
    private Map<Long, String> localparts(SshRule rule) {
        Map<Long, String> out = new TreeMap<>();
        for (String entry : rule.users()) {
            if (!isLocalpartWildcard(entry)) continue;
            String domain = entry.substring("localpart:*@".length());
            for (User u : c.users) {
                String email = u.email();
                if (email == null) continue;
                int at = email.lastIndexOf('@');
                if (at > 0 && email.substring(at + 1).equalsIgnoreCase(domain)) out.put(u.id(), email.substring(0, at));
            }
        }
        return out;
    }

    /** Every address of a (small) set: principals are individual node IPs. */
    private static List<String> addresses(IpSet s) {
        List<String> out = new ArrayList<>();
        for (String p : s.prefixStrings()) {
            if (p.indexOf('/') < 0) {
                out.add(p);
                continue;
            }
            // A run of consecutive node addresses merged into a prefix: list them one by one.
            IpSet one = IpSet.of(dev.lattice.wire.ip.IpPrefix.parse(p));
            out.addAll(expand(one));
        }
        return out;
    }

    private static List<String> expand(IpSet s) {
        List<String> out = new ArrayList<>();
        String r = s.strings().getFirst();
        dev.lattice.wire.ip.IpPrefix p = dev.lattice.wire.ip.IpPrefix.parse(r);
        long[] k = IpSet.key(p.address());
        int width = p.isIPv4() ? 32 : 128;
        long count = 1L << Math.min(20, width - p.bits()); // bounded: node addresses only, never huge prefixes
        for (long i = 0; i < count; i++) out.add(IpSet.format(k[0], k[1] + i, width));
        return out;
    }
}
