package dev.lattice.control.policy;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.PortRange;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;

/**
 * A parsed, validated policy file (see {@link PolicyParser}). Every section is present (empty when absent);
 * rules keep their position in the file so later errors (failing tests) can point at them. An empty policy
 * {@code {}} allows nothing, as in Tailscale.
 *
 * @param groups {@code group:x} → user tokens ({@code alice@...})
 * @param hosts host name → prefix
 * @param tagOwners {@code tag:x} → owners (users, groups, tags)
 * @param text the original text, comments included, for display and editing
 */
public record Policy(
        Map<String, List<Alias.User>> groups,
        Map<String, IpPrefix> hosts,
        Map<String, List<Alias>> tagOwners,
        List<Acl> acls,
        List<Grant> grants,
        AutoApprovers autoApprovers,
        List<SshRule> ssh,
        List<Test> tests,
        List<SshTest> sshTests,
        List<NodeAttr> nodeAttrs,
        String text) {

    public Policy {
        groups = Map.copyOf(groups);
        hosts = Map.copyOf(hosts);
        tagOwners = Map.copyOf(tagOwners);
        acls = List.copyOf(acls);
        grants = List.copyOf(grants);
        ssh = List.copyOf(ssh);
        tests = List.copyOf(tests);
        sshTests = List.copyOf(sshTests);
        nodeAttrs = List.copyOf(nodeAttrs);
        if (text == null) text = "";
    }

    /** Where a rule starts in the file (1-based), for messages. */
    public record Pos(int line, int column) {
        @Override
        public String toString() {
            return "line " + line + ", column " + column;
        }
    }

    /** A destination of an ACL: an alias and its ports ({@code tag:web:80,443}). */
    public record Dest(Alias alias, List<PortRange> ports) {
        public Dest {
            ports = List.copyOf(ports);
        }
    }

    /**
     * An IP protocol selector: {@code numbers} null means Tailscale's default (TCP, UDP, ICMP); otherwise the
     * IANA numbers, e.g. {@code [6]} for {@code tcp}.
     */
    public record Proto(String name, List<Integer> numbers) {
        public static final Proto DEFAULT = new Proto("", null);

        public boolean portsAllowed() {
            return numbers == null || numbers.equals(List.of(6)) || numbers.equals(List.of(17))
                    || numbers.equals(List.of(132));
        }
    }

    /** {@code {"action":"accept","src":[...],"proto":"tcp","dst":["alias:ports"]}}. */
    public record Acl(List<Alias> src, List<Dest> dst, Proto proto, Pos pos) {
        public Acl {
            src = List.copyOf(src);
            dst = List.copyOf(dst);
        }
    }

    /** One {@code ip} entry of a grant: {@code tcp:443}, {@code 53}, {@code *}. */
    public record ProtoPorts(Proto proto, List<PortRange> ports) {
        public ProtoPorts {
            ports = List.copyOf(ports);
        }
    }

    /**
     * {@code {"src":[...],"dst":[...],"ip":[...],"app":{...}}}: network access ({@code ip}) and application
     * capabilities ({@code app}, tailcfg.PeerCapMap: capability name → JSON values, sorted by name; a value list may be
     * null when the policy wrote {@code null}). At least one of the two is non-empty. {@code via} (tags, empty for
     * most grants) steers the sources to the destinations through routers carrying one of those tags only.
     */
    public record Grant(List<Alias> src, List<Alias> dst, List<ProtoPorts> ip, Map<String, List<JsonNode>> app,
            List<String> via, Pos pos) {
        public Grant {
            src = List.copyOf(src);
            dst = List.copyOf(dst);
            ip = List.copyOf(ip);
            app = app == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(app));
            via = via == null ? List.of() : List.copyOf(via);
        }

        public Grant(List<Alias> src, List<Alias> dst, List<ProtoPorts> ip, Map<String, List<JsonNode>> app, Pos pos) {
            this(src, dst, ip, app, List.of(), pos);
        }
    }

    /** {@code autoApprovers}: route prefix → approvers, and exit-node approvers. */
    public record AutoApprovers(Map<IpPrefix, List<Alias>> routes, List<Alias> exitNode) {
        public static final AutoApprovers NONE = new AutoApprovers(Map.of(), List.of());

        public AutoApprovers {
            routes = Map.copyOf(routes);
            exitNode = List.copyOf(exitNode);
        }
    }

    /**
     * An {@code ssh} rule. {@code checkPeriod} is the raw text ({@code "12h"}, {@code "always"}) or null.
     */
    public record SshRule(String action, List<Alias> src, List<Alias> dst, List<String> users,
                          List<String> acceptEnv, String checkPeriod, Pos pos) {
        public SshRule {
            src = List.copyOf(src);
            dst = List.copyOf(dst);
            users = List.copyOf(users);
            acceptEnv = List.copyOf(acceptEnv);
        }
    }

    /**
     * A {@code nodeAttrs} entry: every node {@code target} names gets each of {@code attrs} in its CapMap (headscale's
     * {@code NodeAttrGrant}; e.g. {@code funnel}).
     */
    public record NodeAttr(List<Alias> target, List<String> attrs, Pos pos) {
        public NodeAttr {
            target = List.copyOf(target);
            attrs = List.copyOf(attrs);
        }
    }

    /** A {@code tests} entry: from {@code src}, each of {@code accept} must be reachable and no {@code deny}. */
    public record Test(Alias src, Proto proto, List<Dest> accept, List<Dest> deny, Pos pos) {
        public Test {
            accept = List.copyOf(accept);
            deny = List.copyOf(deny);
        }
    }

    /**
     * An {@code sshTests} entry (Headscale v0.29's, Tailscale's): from {@code src}, every {@code accept} login user
     * reaches every {@code dst} through an accept or check SSH rule, no {@code deny} user reaches any, and every
     * {@code check} user reaches every dst through a check rule.
     */
    public record SshTest(Alias src, List<Alias> dst, List<String> accept, List<String> deny, List<String> check, Pos pos) {
        public SshTest {
            dst = List.copyOf(dst);
            accept = List.copyOf(accept);
            deny = List.copyOf(deny);
            check = List.copyOf(check);
        }
    }

    /** Compiles against these nodes and users and runs the policy's {@code tests}; throws on the first failure. */
    public CompiledPolicy check(List<TailnetNode> nodes, List<User> users) throws PolicyException {
        return PolicyCompiler.compile(this, nodes, users);
    }
}
