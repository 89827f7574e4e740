package dev.lattice.control.policy;

import dev.lattice.wire.ip.IpPrefix;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * A policy's {@code sshTests} (Headscale v0.29.2, Tailscale), run after compiling: each entry against the SSH policy
 * its destinations are sent.
 */
final class SshTests {
    private SshTests() {}

    /**
     * The {@code sshTests}, as Headscale v0.29.2's {@code runSSHPolicyTest} evaluates them against each
     * destination's compiled SSH policy: every source address must agree (one that is let in where the test
     * wants it kept out fails the pair), an accept needs any rule, a check a check rule. The first failure throws.
     */
    static void run(PolicyCompiler.Compilation c) throws PolicyException {
        Policy policy = c.policy;
        if (policy.sshTests().isEmpty()) return;
        CompiledPolicyImpl result = c.result();
        for (Policy.SshTest t : policy.sshTests()) {
            String where = "sshTest at " + t.pos() + " (src " + t.src() + ")";
            List<String> srcAddrs = sources(c, t.src());
            if (srcAddrs.isEmpty()) throw failure(t, where + ": source \"" + t.src() + "\" resolved to no IP addresses");
            if (t.accept().isEmpty() && t.deny().isEmpty() && t.check().isEmpty()) {
                throw failure(t, where + ": no accept, deny, or check assertions specified");
            }
            Long srcUser = t.src() instanceof Alias.User u && c.memberUsers(u).size() == 1 ? c.memberUsers(u).getFirst() : null;
            List<PolicyCompiler.NodeInfo> dsts = new ArrayList<>();
            for (Alias d : t.dst()) {
                List<PolicyCompiler.NodeInfo> hit = new ArrayList<>();
                if (d instanceof Alias.AutoGroup ag && ag.is(Alias.SELF)) {
                    if (srcUser != null) hit.addAll(c.untaggedByUser.getOrDefault(srcUser, List.of()));
                } else {
                    IpSet set = c.resolve(d);
                    for (PolicyCompiler.NodeInfo n : c.nodes) if (n.in(set)) hit.add(n);
                }
                if (hit.isEmpty()) {
                    throw failure(t, where + ": dst alias \"" + d + "\" resolved to no nodes");
                }
                for (PolicyCompiler.NodeInfo n : hit) if (!dsts.contains(n)) dsts.add(n);
            }
            for (PolicyCompiler.NodeInfo dst : dsts) {
                JsonNode sshPolicy = result.sshPolicyFor(dst.node);
                for (String user : t.accept()) {
                    for (String a : srcAddrs) {
                        if (!sshReach(sshPolicy, a, user)[0]) {
                            throw failure(t, where + ": " + t.src() + "/" + display(user) + " -> " + dst.node.hostname()
                                    + ": expected ALLOWED, got DENIED");
                        }
                    }
                }
                for (String user : t.deny()) {
                    for (String a : srcAddrs) {
                        if (sshReach(sshPolicy, a, user)[0]) {
                            throw failure(t, where + ": " + t.src() + "/" + display(user) + " -> " + dst.node.hostname()
                                    + ": expected DENIED, got ALLOWED");
                        }
                    }
                }
                for (String user : t.check()) {
                    for (String a : srcAddrs) {
                        boolean[] r = sshReach(sshPolicy, a, user);
                        if (!r[1]) {
                            throw failure(t, where + ": " + t.src() + "/" + display(user) + " -> " + dst.node.hostname()
                                    + ": expected ALLOWED via check, got " + (r[0] ? "ALLOWED via accept" : "DENIED"));
                        }
                    }
                }
            }
        }
    }

    /** The addresses an SSH test's source stands for: an address literal itself, else its nodes' addresses. */
    private static List<String> sources(PolicyCompiler.Compilation c, Alias src) {
        Policy policy = c.policy;
        List<String> out = new ArrayList<>();
        IpPrefix single = switch (src) {
            case Alias.Prefix p when p.prefix().bits() == (p.prefix().isIPv4() ? 32 : 128) -> p.prefix();
            case Alias.Host h when policy.hosts().get(h.name()).bits() == (policy.hosts().get(h.name()).isIPv4() ? 32 : 128) ->
                    policy.hosts().get(h.name());
            default -> null;
        };
        if (single != null) {
            out.add(single.address().getHostAddress());
            return out;
        }
        IpSet set = c.resolve(src);
        for (PolicyCompiler.NodeInfo n : c.nodes) {
            if (!n.in(set)) continue;
            if (n.node.ipv4() != null && set.contains(n.node.ipv4())) out.add(n.node.ipv4().getHostAddress());
            if (n.node.ipv6() != null && set.contains(n.node.ipv6())) out.add(IpPrefix.format(n.node.ipv6()));
        }
        return out;
    }

    private static PolicyException failure(Policy.SshTest t, String message) {
        return new PolicyException(message, t.pos().line(), t.pos().column());
    }

    private static String display(String user) {
        return user.isEmpty() ? "\"\"" : user;
    }

    /**
     * {accept, check}: whether a rule of the SSH policy lets {@code addr} log in as {@code user}, and whether one
     * of those is a check rule (Headscale's {@code reachability} over the same wire shape).
     */
    static boolean[] sshReach(JsonNode sshPolicy, String addr, String user) {
        boolean accept = false, check = false;
        if (sshPolicy == null || user.isEmpty()) return new boolean[] {false, false};
        for (JsonNode rule : sshPolicy.path("rules")) {
            boolean principal = false;
            for (JsonNode p : rule.path("principals")) {
                if (sameAddress(p.path("nodeIP").asString(""), addr)) principal = true;
            }
            if (!principal || !sshUserAllowed(rule.path("sshUsers"), user) || rule.path("action").isMissingNode()) continue;
            accept = true;
            if (!rule.path("action").path("holdAndDelegate").asString("").isEmpty()) check = true;
        }
        return new boolean[] {accept, check};
    }

    private static boolean sameAddress(String a, String b) {
        if (a.isEmpty()) return false;
        try {
            return java.net.InetAddress.ofLiteral(a).equals(java.net.InetAddress.ofLiteral(b));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Headscale's {@code sshUserMapAllows}: a named user maps to itself (or "" to deny), {@code *} to "=" for non-root. */
    private static boolean sshUserAllowed(JsonNode users, String user) {
        if (users.has(user)) return !users.get(user).asString("").isEmpty();
        if (user.equals("root")) return false;
        return users.has("*") && !users.get("*").asString("").isEmpty();
    }
}
