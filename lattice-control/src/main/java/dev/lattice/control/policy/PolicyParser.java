package dev.lattice.control.policy;

import dev.lattice.control.policy.HuJson.Arr;
import dev.lattice.control.policy.HuJson.Member;
import dev.lattice.control.policy.HuJson.Num;
import dev.lattice.control.policy.HuJson.Obj;
import dev.lattice.control.policy.HuJson.Str;
import dev.lattice.control.policy.HuJson.Value;
import dev.lattice.control.policy.Policy.Acl;
import dev.lattice.control.policy.Policy.AutoApprovers;
import dev.lattice.control.policy.Policy.Dest;
import dev.lattice.control.policy.Policy.Grant;
import dev.lattice.control.policy.Policy.Pos;
import dev.lattice.control.policy.Policy.Proto;
import dev.lattice.control.policy.Policy.ProtoPorts;
import dev.lattice.control.policy.Policy.SshRule;
import dev.lattice.control.policy.Policy.Test;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.PortRange;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Parses and validates a Tailscale policy file (HuJSON). Every error names its line and column and what is wrong;
 * a policy that parses is internally consistent (every group, tag and host it uses is defined), so compiling it
 * can only fail on its own {@code tests}.
 */
public final class PolicyParser {
    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9_.-]{0,252})?");
    /** Headscale's (and Tailscale's) longest SSH check period. */
    private static final java.time.Duration MAX_CHECK_PERIOD = java.time.Duration.ofHours(168);
    private static final Pattern DURATION = Pattern.compile("(\\d+(\\.\\d+)?(h|m|s|ms))+");

    /** Tailscale sections we accept and do not act on (yet), so copied policies still load. */
    private static final Set<String> IGNORED = Set.of("derpmap", "randomizeclientport",
            "disableipv4", "onecgnatroute", "postures", "defaultsrcposture", "ipsets", "attrconfig");

    /**
     * The tailscale.com capabilities a policy may grant (headscale's tailscaleCapAllowlist); the companions
     * (drive-sharer, relay-target) and the server's own (ingress, funnel) are not among them.
     */
    private static final Set<String> USER_TAILSCALE_CAPS = Set.of("tailscale.com/cap/drive", "tailscale.com/cap/relay",
            "tailscale.com/cap/webui", "tailscale.com/cap/kubernetes", "tailscale.com/cap/tsidp");

    /** Protocol names Tailscale accepts, with their IANA numbers. */
    private static final Map<String, Integer> PROTOCOLS = Map.ofEntries(
            Map.entry("icmp", 1), Map.entry("igmp", 2), Map.entry("ipv4", 4), Map.entry("ip-in-ip", 4),
            Map.entry("tcp", 6), Map.entry("egp", 8), Map.entry("igp", 9), Map.entry("udp", 17),
            Map.entry("gre", 47), Map.entry("esp", 50), Map.entry("ah", 51), Map.entry("ipv6-icmp", 58),
            Map.entry("sctp", 132), Map.entry("fc", 133));

    private final Map<String, List<Alias.User>> groups = new LinkedHashMap<>();
    private final Map<String, IpPrefix> hosts = new LinkedHashMap<>();
    private final Map<String, List<Alias>> tagOwners = new LinkedHashMap<>();

    private PolicyParser() {}

    public static Policy parse(String hujson) throws PolicyException {
        if (hujson == null) throw new PolicyException("policy is null");
        Value root = HuJson.parse(hujson);
        if (!(root instanceof Obj top)) throw at(root, "policy must be an object, got " + root.kind());
        return new PolicyParser().policy(top, hujson);
    }

    private Policy policy(Obj top, String text) throws PolicyException {
        Map<String, Member> sections = new LinkedHashMap<>();
        for (Member m : top.members().values()) {
            String k = m.key().toLowerCase(Locale.ROOT);
            if (IGNORED.contains(k)) continue;
            if (!Set.of("groups", "hosts", "tagowners", "acls", "grants", "autoapprovers", "ssh", "tests", "sshtests", "nodeattrs").contains(k)) {
                throw new PolicyException("unknown section \"" + m.key() + "\"", m.line(), m.column());
            }
            if (sections.put(k, m) != null) throw new PolicyException("duplicate section \"" + m.key() + "\"", m.line(), m.column());
        }
        // Definitions first, whatever their order in the file, so references can be checked against them.
        if (sections.containsKey("hosts")) hosts(obj(sections.get("hosts").value()));
        if (sections.containsKey("groups")) groups(obj(sections.get("groups").value()));
        if (sections.containsKey("tagowners")) tagOwners(obj(sections.get("tagowners").value()));
        List<Acl> acls = new ArrayList<>();
        if (sections.containsKey("acls")) for (Value v : arr(sections.get("acls").value()).items()) acls.add(acl(obj(v)));
        List<Grant> grants = new ArrayList<>();
        if (sections.containsKey("grants")) for (Value v : arr(sections.get("grants").value()).items()) grants.add(grant(obj(v)));
        if (!sections.containsKey("acls") && !sections.containsKey("grants")) {
            // Neither section: Tailscale's default, everyone reaches everything (what its control sends for a policy of
            // only tagOwners, ssh or nodeAttrs; headscale: FilterAllowAll). An empty "acls": [] still denies all.
            acls.add(new Acl(List.of(Alias.WILDCARD), List.of(new Policy.Dest(Alias.WILDCARD, List.of(PortRange.ANY))),
                    Policy.Proto.DEFAULT, new Pos(top.line(), top.column())));
        }
        AutoApprovers aa = sections.containsKey("autoapprovers") ? autoApprovers(obj(sections.get("autoapprovers").value())) : AutoApprovers.NONE;
        List<SshRule> ssh = new ArrayList<>();
        if (sections.containsKey("ssh")) for (Value v : arr(sections.get("ssh").value()).items()) ssh.add(ssh(obj(v)));
        List<Test> tests = new ArrayList<>();
        if (sections.containsKey("tests")) for (Value v : arr(sections.get("tests").value()).items()) tests.add(test(obj(v)));
        List<Policy.SshTest> sshTests = new ArrayList<>();
        if (sections.containsKey("sshtests")) {
            for (Value v : arr(sections.get("sshtests").value()).items()) sshTests.add(sshTest(obj(v)));
        }
        List<Policy.NodeAttr> nodeAttrs = new ArrayList<>();
        if (sections.containsKey("nodeattrs")) for (Value v : arr(sections.get("nodeattrs").value()).items()) nodeAttrs.add(nodeAttr(obj(v)));
        return new Policy(groups, hosts, tagOwners, acls, grants, aa, ssh, tests, sshTests, nodeAttrs, text);
    }

    /**
     * {@code {"target": [...], "attr": [...]}} (headscale's NodeAttrGrant). Targets are users, groups, tags,
     * autogroup:member/tagged, * or addresses, as in headscale. {@code ipPool} is refused: Lattice does not allocate from
     * per-node pools, and a pool silently not used would hand out other addresses.
     */
    private Policy.NodeAttr nodeAttr(Obj o) throws PolicyException {
        Map<String, Member> f = fields(o, "nodeAttrs entry", "target", "attr", "ippool", "app");
        if (f.containsKey("ippool")) throw at(f.get("ippool").value(), "nodeAttrs \"ipPool\" is not supported");
        if (f.containsKey("app")) throw at(f.get("app").value(), "nodeAttrs \"app\" is not supported");
        List<Alias> targets = new ArrayList<>();
        for (Value v : arr(require(o, f, "target").value()).items()) {
            Alias a = alias(v, "nodeAttrs");
            switch (a) {
                case Alias.AutoGroup ag when !ag.is(Alias.MEMBER) && !ag.is(Alias.TAGGED) ->
                        throw at(v, "nodeAttrs target must not be \"" + a + "\": only autogroup:member and autogroup:tagged");
                default -> targets.add(a);
            }
        }
        // An empty target list is accepted, as Tailscale does: the entry applies to nobody.
        List<String> attrs = new ArrayList<>();
        if (f.containsKey("attr")) {
            for (Value v : arr(f.get("attr").value()).items()) {
                String a = str(v).text().trim();
                if (a.isEmpty()) throw at(v, "empty nodeAttrs attr");
                attrs.add(a);
            }
        }
        return new Policy.NodeAttr(targets, attrs, new Pos(o.line(), o.column()));
    }

    private void hosts(Obj o) throws PolicyException {
        for (Member m : o.members().values()) {
            String name = m.key();
            if (!HOST_NAME.matcher(name).matches() || isAddress(name)) {
                throw new PolicyException("invalid host name \"" + name + "\"", m.line(), m.column());
            }
            Str s = str(m.value());
            try {
                hosts.put(name, IpPrefix.parse(s.text().trim()));
            } catch (IllegalArgumentException e) {
                throw at(s, "host \"" + name + "\": " + e.getMessage());
            }
        }
    }

    private void groups(Obj o) throws PolicyException {
        for (Member m : o.members().values()) {
            if (!m.key().startsWith("group:") || m.key().length() == 6) {
                throw new PolicyException("group names must start with \"group:\", got \"" + m.key() + "\"", m.line(), m.column());
            }
            List<Alias.User> members = new ArrayList<>();
            for (Value v : arr(m.value()).items()) {
                String t = str(v).text().trim();
                if (t.startsWith("group:")) throw at(v, "group \"" + m.key() + "\" contains group \"" + t + "\": groups cannot contain groups");
                if (t.startsWith(Alias.IDP_GROUP)) {
                    if (t.length() == Alias.IDP_GROUP.length()) throw at(v, "group \"" + m.key() + "\": \"" + t + "\" names no group");
                    members.add(new Alias.User(t));
                    continue;
                }
                if (t.indexOf('@') < 0) {
                    throw at(v, "group \"" + m.key() + "\": members must be users (user@ or user@domain) or identity provider "
                            + "groups (oidc-group:NAME), got \"" + t + "\"");
                }
                members.add(new Alias.User(t));
            }
            groups.put(m.key(), members);
        }
    }

    private void tagOwners(Obj o) throws PolicyException {
        for (Member m : o.members().values()) checkTagName(m.key(), m.line(), m.column());
        for (Member m : o.members().values()) {
            List<Alias> owners = new ArrayList<>();
            // Register first so a tag owned by another tag defined later still resolves.
            tagOwners.put(m.key(), owners);
        }
        for (Member m : o.members().values()) {
            List<Alias> owners = tagOwners.get(m.key());
            for (Value v : arr(m.value()).items()) {
                Alias a = alias(v, "tagOwners");
                switch (a) {
                    case Alias.User u -> owners.add(u);
                    case Alias.Group g -> owners.add(g);
                    case Alias.Tag t -> owners.add(t);
                    case Alias.AutoGroup ag when ag.is(Alias.MEMBER) || ag.is(Alias.TAGGED) -> owners.add(ag);
                    default -> throw at(v, "tag owner of \"" + m.key() + "\" must be a user, group or tag, got \"" + a + "\"");
                }
            }
        }
    }

    private static void checkTagName(String tag, int line, int col) throws PolicyException {
        if (!tag.startsWith("tag:")) throw new PolicyException("tag names must start with \"tag:\", got \"" + tag + "\"", line, col);
        char first = tag.length() > 4 ? tag.charAt(4) : ' ';
        if ((first < 'a' || first > 'z') && (first < 'A' || first > 'Z')) { // ASCII, as Tailscale and Headscale
            throw new PolicyException("tag names must start with a letter after \"tag:\", got \"" + tag + "\"", line, col);
        }
    }

    private Acl acl(Obj o) throws PolicyException {
        Map<String, Member> f = fields(o, "ACL", "action", "src", "dst", "proto", "users", "ports");
        Member action = require(o, f, "action");
        String act = str(action.value()).text();
        if (!act.equals("accept")) throw at(action.value(), "invalid ACL action \"" + act + "\", must be \"accept\"");
        Member src = f.containsKey("src") ? f.get("src") : f.get("users"); // "users"/"ports": the legacy names
        Member dst = f.containsKey("dst") ? f.get("dst") : f.get("ports");
        if (src == null) throw at(o, "ACL is missing \"src\"");
        if (dst == null) throw at(o, "ACL is missing \"dst\"");
        Proto proto = f.containsKey("proto") ? proto(f.get("proto").value()) : Proto.DEFAULT;
        List<Alias> srcs = sources(arr(src.value()), "ACL");
        List<Dest> dsts = new ArrayList<>();
        for (Value v : arr(dst.value()).items()) {
            Dest d = dest(v, "ACL");
            if (!proto.portsAllowed() && !d.ports().equals(List.of(PortRange.ANY))) {
                throw at(v, "protocol \"" + proto.name() + "\" does not support specific ports, only \"*\" is allowed");
            }
            dsts.add(d);
        }
        if (dsts.stream().anyMatch(d -> isSelf(d.alias()))) checkSelfSources(arr(src.value()), srcs, true);
        return new Acl(srcs, dsts, proto, new Pos(o.line(), o.column()));
    }

    private Grant grant(Obj o) throws PolicyException {
        Map<String, Member> f = fields(o, "grant", "src", "dst", "ip", "app", "via", "srcposture");
        if (f.containsKey("srcposture")) throw at(f.get("srcposture").value(), "grant \"srcPosture\" is not supported");
        List<Alias> srcs = sources(arr(require(o, f, "src").value()), "grant");
        List<Alias> dsts = new ArrayList<>();
        List<Value> dstValues = arr(require(o, f, "dst").value()).items();
        for (Value v : dstValues) {
            Alias a = alias(v, "grant");
            checkDestination(a, v);
            // As Tailscale: a default route is not "everything"; * and autogroup:internet say which is meant.
            if (a instanceof Alias.Prefix p && p.prefix().bits() == 0) {
                throw at(v, "dst \"" + p.prefix() + "\": to allow all IP addresses, use \"*\" or \"autogroup:internet\"");
            }
            dsts.add(a);
        }
        if (dsts.stream().anyMatch(PolicyParser::isSelf)) checkSelfSources(arr(require(o, f, "src").value()), srcs, false);
        List<ProtoPorts> ip = new ArrayList<>();
        if (f.containsKey("ip")) for (Value v : arr(f.get("ip").value()).items()) ip.add(protoPorts(v));
        Map<String, List<JsonNode>> app = f.containsKey("app") ? app(obj(f.get("app").value())) : Map.of();
        if (ip.isEmpty() && app.isEmpty()) {
            Value where = f.containsKey("ip") ? f.get("ip").value() : f.containsKey("app") ? f.get("app").value() : o;
            throw at(where, "grant: ip and app can not both be empty");
        }
        if (!app.isEmpty()) {
            for (int i = 0; i < dsts.size(); i++) {
                if (dsts.get(i) instanceof Alias.AutoGroup ag && ag.is(Alias.INTERNET)) {
                    throw at(dstValues.get(i), "cannot use app grants with autogroup:internet");
                }
            }
        }
        List<String> via = f.containsKey("via") ? via(arr(f.get("via").value())) : List.of();
        return new Grant(srcs, dsts, ip, app, via, new Pos(o.line(), o.column()));
    }

    /**
     * A grant's {@code via}: the tags of the routers its sources must use for its destinations (Headscale's wording for
     * its errors, which is Tailscale's: only tags, and only tags defined in tagOwners).
     */
    private List<String> via(Arr a) throws PolicyException {
        List<String> tags = new ArrayList<>();
        for (Value v : a.items()) {
            if (!(v instanceof Str s) || !s.text().trim().startsWith("tag:")) throw at(v, "via can only be a tag");
            String tag = s.text().trim();
            checkTagName(tag, v.line(), v.column());
            if (!tagOwners.containsKey(tag)) throw at(v, "tag \"" + tag + "\" not found");
            if (!tags.contains(tag)) tags.add(tag);
        }
        return tags;
    }

    /**
     * A grant's {@code app}: capability name → list of JSON values (tailcfg.PeerCapMap), sorted by name as Go writes a
     * map. Values are kept as written (a cap's {@code null} stays null) and reach clients unchanged.
     */
    private static Map<String, List<JsonNode>> app(Obj o) throws PolicyException {
        TreeMap<String, List<JsonNode>> out = new TreeMap<>();
        for (Member m : o.members().values()) {
            String name = m.key();
            // headscale's validateCapabilityName: Tailscale's own caps are granted by the server, except this allowlist.
            if (name.contains("://")) {
                throw new PolicyException("grant app \"" + name + "\": capability name must have the form {domain}/{path}", m.line(), m.column());
            }
            if (name.startsWith("tailscale.com/") && !USER_TAILSCALE_CAPS.contains(name)) {
                throw new PolicyException("grant app \"" + name + "\": capability name must not be in the tailscale.com domain", m.line(), m.column());
            }
            if (m.value() instanceof HuJson.Null) {
                out.put(name, null);
                continue;
            }
            List<JsonNode> values = new ArrayList<>();
            for (Value v : arr(m.value()).items()) values.add(json(v));
            out.put(name, List.copyOf(values));
        }
        return Collections.unmodifiableMap(out);
    }

    /** The JSON tree of a HuJSON value (comments and trailing commas are gone; key order stays). */
    private static JsonNode json(Value v) throws PolicyException {
        JsonNodeFactory f = JsonNodeFactory.instance;
        return switch (v) {
            case Obj o -> {
                ObjectNode n = f.objectNode();
                for (Member m : o.members().values()) n.set(m.key(), json(m.value()));
                yield n;
            }
            case Arr a -> {
                ArrayNode n = f.arrayNode();
                for (Value item : a.items()) n.add(json(item));
                yield n;
            }
            case Str s -> f.stringNode(s.text());
            case Num n -> number(n);
            case HuJson.Bool b -> f.booleanNode(b.value());
            case HuJson.Null x -> f.nullNode();
        };
    }

    private static JsonNode number(Num n) throws PolicyException {
        JsonNodeFactory f = JsonNodeFactory.instance;
        String text = n.text();
        try {
            boolean integral = text.chars().allMatch(c -> c == '-' || (c >= '0' && c <= '9'));
            if (!integral) return f.numberNode(new BigDecimal(text));
            BigInteger b = new BigInteger(text);
            return b.bitLength() < 64 ? f.numberNode(b.longValue()) : f.numberNode(b);
        } catch (NumberFormatException e) { // e.g. an exponent beyond what a number can hold
            throw at(n, "number " + text + " is out of range");
        }
    }

    private ProtoPorts protoPorts(Value v) throws PolicyException {
        if (v instanceof Num n) return new ProtoPorts(Proto.DEFAULT, ports(n.text(), v));
        String s = str(v).text().trim();
        if (s.equals("*")) return new ProtoPorts(Proto.DEFAULT, List.of(PortRange.ANY));
        int colon = s.indexOf(':');
        if (colon < 0) return new ProtoPorts(Proto.DEFAULT, ports(s, v));
        if (s.indexOf(':', colon + 1) >= 0) throw at(v, "expected protocol:ports, got \"" + s + "\"");
        Proto p = protoName(s.substring(0, colon), v);
        List<PortRange> ports = ports(s.substring(colon + 1), v);
        if (!p.portsAllowed() && !ports.equals(List.of(PortRange.ANY))) {
            throw at(v, "protocol \"" + p.name() + "\" does not support specific ports, only \"*\" is allowed");
        }
        return new ProtoPorts(p, ports);
    }

    private AutoApprovers autoApprovers(Obj o) throws PolicyException {
        Map<String, Member> f = fields(o, "autoApprovers", "routes", "exitnode");
        Map<IpPrefix, List<Alias>> routes = new LinkedHashMap<>();
        if (f.containsKey("routes")) {
            for (Member m : obj(f.get("routes").value()).members().values()) {
                IpPrefix p;
                try {
                    p = IpPrefix.parse(m.key().trim());
                } catch (IllegalArgumentException e) {
                    throw new PolicyException("autoApprovers route: " + e.getMessage(), m.line(), m.column());
                }
                routes.put(p, approvers(arr(m.value())));
            }
        }
        List<Alias> exit = f.containsKey("exitnode") ? approvers(arr(f.get("exitnode").value())) : List.of();
        return new AutoApprovers(routes, exit);
    }

    private List<Alias> approvers(Arr a) throws PolicyException {
        List<Alias> out = new ArrayList<>();
        for (Value v : a.items()) {
            Alias x = alias(v, "autoApprovers");
            switch (x) {
                case Alias.User u -> out.add(u);
                case Alias.Group g -> out.add(g);
                case Alias.Tag t -> out.add(t);
                case Alias.AutoGroup ag when ag.is(Alias.MEMBER) || ag.is(Alias.TAGGED) -> out.add(ag);
                default -> throw at(v, "auto approver must be a user, group or tag, got \"" + x + "\"");
            }
        }
        return out;
    }

    private SshRule ssh(Obj o) throws PolicyException {
        Map<String, Member> f = fields(o, "SSH rule", "action", "src", "dst", "users", "checkperiod", "acceptenv");
        Member action = require(o, f, "action");
        String act = str(action.value()).text().trim(); // Tailscale takes " accept"
        if (!act.equals("accept") && !act.equals("check")) {
            throw at(action.value(), "invalid SSH action \"" + act + "\", must be \"accept\" or \"check\"");
        }
        // A rule without src or dst is accepted by Tailscale and applies to nobody.
        List<Alias> srcs = new ArrayList<>();
        for (Value v : f.containsKey("src") ? arr(f.get("src").value()).items() : List.<Value>of()) {
            Alias a = alias(v, "SSH");
            switch (a) {
                case Alias.User u -> srcs.add(u);
                case Alias.Group g -> srcs.add(g);
                case Alias.Tag t -> srcs.add(t);
                case Alias.AutoGroup ag when ag.is(Alias.MEMBER) || ag.is(Alias.TAGGED) -> srcs.add(ag);
                default -> throw at(v, "SSH source must be a user, group, tag, autogroup:member or autogroup:tagged, got \"" + a + "\"");
            }
        }
        List<Alias> dsts = new ArrayList<>();
        for (Value v : f.containsKey("dst") ? arr(f.get("dst").value()).items() : List.<Value>of()) {
            Alias a = alias(v, "SSH");
            switch (a) {
                case Alias.Wildcard w -> throw at(v, "wildcard (*) is not supported as SSH destination");
                case Alias.Host h -> throw at(v, "invalid dst \"" + h + "\": an SSH destination names nodes, not hosts");
                case Alias.AutoGroup ag when !(ag.is(Alias.SELF) || ag.is(Alias.MEMBER) || ag.is(Alias.TAGGED)) ->
                        throw at(v, "\"" + ag + "\" is not supported as SSH destination");
                default -> dsts.add(a);
            }
        }
        List<String> users = new ArrayList<>();
        for (Value v : arr(require(o, f, "users").value()).items()) {
            String u = str(v).text().trim();
            if (u.isEmpty()) throw at(v, "SSH user must not be empty");
            if (u.equals("*")) throw at(v, "user \"*\" is not valid");
            // Anything but autogroup:nonroot and localpart:*@domain is a local user name, as Tailscale sends it
            // (even "autogroup:member" or a malformed "localpart:foo@example.com").
            users.add(u);
        }
        if (users.isEmpty()) throw at(f.get("users").value(), "SSH rule: users must be specified");
        String period = null;
        if (f.containsKey("checkperiod") && !(f.get("checkperiod").value() instanceof HuJson.Null)) {
            Value pv = f.get("checkperiod").value();
            period = str(pv).text().trim();
            if (!act.equals("check")) throw at(pv, "checkPeriod is only valid with action \"check\"");
            if (!period.equals("always") && !DURATION.matcher(period).matches()) throw at(pv, "invalid checkPeriod \"" + period + "\"");
            if (!period.equals("always") && dev.lattice.control.config.GoDuration.parse(period).compareTo(MAX_CHECK_PERIOD) > 0) {
                throw at(pv, "checkPeriod " + period + " is above the max (168h)");
            }
        }
        List<String> env = new ArrayList<>();
        if (f.containsKey("acceptenv") && !(f.get("acceptenv").value() instanceof HuJson.Null)) {
            for (Value v : arr(f.get("acceptenv").value()).items()) {
                String e = str(v).text();
                if (e.isEmpty()) throw at(v, "acceptEnv values cannot be empty");
                env.add(e);
            }
        }
        return new SshRule(act, srcs, dsts, users, env, period, new Pos(o.line(), o.column()));
    }

    private Test test(Obj o) throws PolicyException {
        Map<String, Member> f = fields(o, "test", "src", "proto", "accept", "deny");
        Value sv = require(o, f, "src").value();
        Alias src = alias(sv, "test");
        checkSource(src, sv, "test");
        Proto proto = Proto.DEFAULT;
        if (f.containsKey("proto")) {
            proto = proto(f.get("proto").value());
            if (proto.numbers() != null && !proto.portsAllowed()) {
                throw at(f.get("proto").value(), "test protocol must be tcp, udp, sctp, or empty");
            }
        }
        List<Dest> accept = new ArrayList<>(), deny = new ArrayList<>();
        if (f.containsKey("accept")) for (Value v : arr(f.get("accept").value()).items()) accept.add(testDest(v));
        if (f.containsKey("deny")) for (Value v : arr(f.get("deny").value()).items()) deny.add(testDest(v));
        if (accept.isEmpty() && deny.isEmpty()) throw at(o, "test entry must have at least one of \"accept\" or \"deny\"");
        return new Test(src, proto, accept, deny, new Pos(o.line(), o.column()));
    }

    /**
     * An {@code sshTests} entry, validated as Headscale v0.29.2's {@code validateSSHTests}: a source, at least one
     * destination, and each destination one SSH-reachable host (no CIDR wider than an address, no
     * autogroup:internet, no unknown tag, which also catches a {@code tag:x:22} port suffix). Users are login names.
     */
    private Policy.SshTest sshTest(Obj o) throws PolicyException {
        Map<String, Member> f = fields(o, "SSH test", "src", "dst", "accept", "deny", "check");
        Value sv = f.containsKey("src") ? f.get("src").value() : null;
        if (sv == null || str(sv).text().isBlank()) throw at(sv == null ? o : sv, "SSH tests entry must have a non-empty src");
        Alias src = alias(sv, "SSH test");
        List<Alias> dst = new ArrayList<>();
        for (Value v : f.containsKey("dst") ? arr(f.get("dst").value()).items() : List.<Value>of()) {
            String text = str(v).text().trim();
            if (text.startsWith("tag:") && !tagOwners.containsKey(text)) {
                throw at(v, "SSH tests dst contains unknown tag \"" + text + "\"");
            }
            Alias a = alias(v, "SSH test");
            boolean wide = switch (a) {
                case Alias.Prefix p -> p.prefix().bits() < (p.prefix().isIPv4() ? 32 : 128);
                case Alias.Host h -> hosts.get(h.name()).bits() < (hosts.get(h.name()).isIPv4() ? 32 : 128);
                case Alias.AutoGroup ag -> ag.is(Alias.INTERNET);
                default -> false;
            };
            if (wide) throw at(v, "SSH tests dst contains disallowed element \"" + text + "\"");
            dst.add(a);
        }
        if (dst.isEmpty()) throw at(o, "SSH tests entry must have at least one dst");
        return new Policy.SshTest(src, dst, loginUsers(f.get("accept")), loginUsers(f.get("deny")), loginUsers(f.get("check")),
                new Pos(o.line(), o.column()));
    }

    private static List<String> loginUsers(Member m) throws PolicyException {
        List<String> out = new ArrayList<>();
        if (m == null || m.value() instanceof HuJson.Null) return out;
        for (Value v : arr(m.value()).items()) out.add(str(v).text().trim());
        return out;
    }

    private Dest testDest(Value v) throws PolicyException {
        Dest d = dest(v, "test");
        if (d.ports().size() != 1 || d.ports().getFirst().first().intValue() != d.ports().getFirst().last().intValue()) {
            throw at(v, "test destination must name one port, e.g. \"tag:web:443\"");
        }
        if (d.alias() instanceof Alias.AutoGroup ag && ag.is(Alias.SELF)) throw at(v, "autogroup:self is not valid in tests");
        return d;
    }

    private List<Alias> sources(Arr a, String where) throws PolicyException {
        List<Alias> out = new ArrayList<>();
        for (Value v : a.items()) {
            Alias x = alias(v, where);
            checkSource(x, v, where);
            out.add(x);
        }
        return out;
    }

    private static void checkSource(Alias a, Value v, String where) throws PolicyException {
        if (a instanceof Alias.AutoGroup ag) {
            if (ag.is(Alias.SELF)) throw at(v, "\"autogroup:self\" not valid on the src side of a rule");
            if (ag.is(Alias.INTERNET)) throw at(v, "autogroup:internet can only be used in " + where + " destinations");
            if (ag.is(Alias.NONROOT)) throw at(v, "autogroup:nonroot is only valid in SSH users");
        }
    }

    private static boolean isSelf(Alias a) {
        return a instanceof Alias.AutoGroup ag && ag.is(Alias.SELF);
    }

    /**
     * As Tailscale and headscale: with autogroup:self among the destinations every source must name users (a user, a
     * group, autogroup:member; in ACLs also *), since "self" is the source user's own devices.
     */
    private static void checkSelfSources(Arr values, List<Alias> srcs, boolean wildcardOk) throws PolicyException {
        for (int i = 0; i < srcs.size(); i++) {
            Alias a = srcs.get(i);
            boolean ok = a instanceof Alias.User || a instanceof Alias.Group || (wildcardOk && a instanceof Alias.Wildcard)
                    || (a instanceof Alias.AutoGroup ag && ag.is(Alias.MEMBER));
            if (!ok) {
                throw at(values.items().get(i), "autogroup:self can only be used with users, groups, or supported autogroups"
                        + " (source \"" + a + "\")");
            }
        }
    }

    private static void checkDestination(Alias a, Value v) throws PolicyException {
        if (a instanceof Alias.AutoGroup ag) {
            if (ag.is(Alias.DANGER_ALL)) throw at(v, "cannot use autogroup:danger-all as a dst");
            if (ag.is(Alias.NONROOT)) throw at(v, "autogroup:nonroot is only valid in SSH users");
        }
    }

    /** {@code alias:ports}; IPv6 may be bracketed ({@code [fd7a::1]:22}), else the last colon splits. */
    private Dest dest(Value v, String where) throws PolicyException {
        String s = str(v).text().trim();
        String aliasText, portText;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') throw at(v, "bad destination \"" + s + "\", expected [ipv6]:ports");
            aliasText = s.substring(1, close);
            portText = s.substring(close + 2);
        } else {
            int colon = s.lastIndexOf(':');
            if (colon < 0) throw at(v, "destination \"" + s + "\" must have ports, e.g. \"" + s + ":*\"");
            aliasText = s.substring(0, colon);
            portText = s.substring(colon + 1);
        }
        Alias a = alias(aliasText, v, where);
        checkDestination(a, v);
        return new Dest(a, ports(portText, v));
    }

    /** {@code *} or a comma list of {@code port} / {@code first-last}, 0..65535. */
    static List<PortRange> ports(String text, Value at) throws PolicyException {
        String t = text.trim();
        if (t.equals("*")) return List.of(PortRange.ANY);
        if (t.isEmpty()) throw at(at, "missing ports after \":\"");
        List<PortRange> out = new ArrayList<>();
        for (String part : t.split(",", -1)) {
            String p = part.trim();
            int dash = p.indexOf('-');
            int first, last;
            if (dash < 0) {
                first = last = port(p, at);
                // As Tailscale (captured grant-k23) and headscale: port 0 alone is a mistake; 0-N and * are ranges.
                if (first == 0) throw at(at, "port range \"" + p + "\": first port must be >0, or use '*' for wildcard");
            } else {
                first = port(p.substring(0, dash), at);
                last = port(p.substring(dash + 1), at);
                if (first > last) throw at(at, "bad port range \"" + p + "\": first port is greater than last");
            }
            out.add(first == 0 && last == 65535 ? PortRange.ANY : new PortRange(first, last));
        }
        return out;
    }

    private static int port(String s, Value at) throws PolicyException {
        if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw at(at, "bad port range: \"" + s + "\" is not a port number");
        }
        int n = Integer.parseInt(s);
        if (n > 65535) throw at(at, "bad port range: port " + n + " is out of range 0-65535");
        return n;
    }

    private static Proto proto(Value v) throws PolicyException {
        if (v instanceof Num n) return protoName(n.text(), v);
        return protoName(str(v).text(), v);
    }

    private static Proto protoName(String raw, Value at) throws PolicyException {
        String s = raw.trim().toLowerCase(Locale.ROOT);
        if (s.isEmpty() || s.equals("*")) return Proto.DEFAULT;
        Integer n = PROTOCOLS.get(s);
        if (n != null) return new Proto(s, List.of(n));
        if (s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            if (s.length() > 1 && s.charAt(0) == '0') throw at(at, "leading 0 not permitted in protocol number \"" + raw + "\"");
            if (s.length() > 3 || Integer.parseInt(s) > 255) throw at(at, "protocol number \"" + raw + "\" out of range (0-255)");
            int num = Integer.parseInt(s);
            for (var e : PROTOCOLS.entrySet()) if (e.getValue() == num && !e.getKey().equals("ip-in-ip")) return new Proto(e.getKey(), List.of(num));
            return new Proto(s, List.of(num));
        }
        throw at(at, "unknown protocol \"" + raw + "\"");
    }

    private Alias alias(Value v, String where) throws PolicyException {
        return alias(str(v).text().trim(), v, where);
    }

    /** Resolves the text to a kind of alias and checks it refers to something this policy defines. */
    private Alias alias(String s, Value at, String where) throws PolicyException {
        if (s.isEmpty()) throw at(at, "empty alias");
        if (s.equals("*")) return Alias.WILDCARD;
        if (s.startsWith("autogroup:")) {
            if (!Alias.AutoGroup.KNOWN.contains(s)) {
                throw at(at, "unknown autogroup \"" + s + "\", must be one of " + Alias.AutoGroup.KNOWN);
            }
            return new Alias.AutoGroup(s);
        }
        if (s.startsWith("group:")) {
            if (!groups.containsKey(s)) throw at(at, "group \"" + s + "\" is not defined in groups");
            return new Alias.Group(s);
        }
        if (s.startsWith(Alias.IDP_GROUP)) {
            throw at(at, "\"" + s + "\" can only be a member of a group: define one in groups, e.g. \"group:"
                    + s.substring(Alias.IDP_GROUP.length()) + "\": [\"" + s + "\"], and use the group here");
        }
        if (s.startsWith("tag:")) {
            checkTagName(s, at.line(), at.column());
            if (!tagOwners.containsKey(s)) throw at(at, "tag \"" + s + "\" is not defined in tagOwners");
            return new Alias.Tag(s);
        }
        if (s.startsWith("user:") && s.indexOf('@') > 0) s = s.substring("user:".length()); // Tailscale's explicit form
        if (s.indexOf('@') >= 0) {
            if (s.indexOf('@') == 0 || s.indexOf('@') != s.lastIndexOf('@')) throw at(at, "invalid user \"" + s + "\"");
            if (s.indexOf('*') >= 0 && !(s.startsWith("*@") && s.indexOf('*', 1) < 0 && s.length() > 2)) {
                throw at(at, "invalid user \"" + s + "\": the only wildcard is user:*@<domain>");
            }
            return new Alias.User(s);
        }
        if (isAddress(s)) {
            try {
                IpPrefix p = IpPrefix.parse(s);
                return new Alias.Prefix(p);
            } catch (IllegalArgumentException e) {
                throw at(at, e.getMessage());
            }
        }
        if (HOST_NAME.matcher(s).matches()) {
            if (!hosts.containsKey(s)) throw at(at, "host \"" + s + "\" is not defined in hosts");
            return new Alias.Host(s);
        }
        throw at(at, "invalid alias \"" + s + "\" in " + where);
    }

    /** Looks like an IP literal or CIDR (digits and dots, or contains a colon). */
    private static boolean isAddress(String s) {
        if (s.indexOf(':') >= 0) return true;
        String base = s.indexOf('/') >= 0 ? s.substring(0, s.indexOf('/')) : s;
        return !base.isEmpty() && base.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'))
                && base.chars().filter(c -> c == '.').count() == 3;
    }

    /** The object's fields by lower-cased name (Go's JSON matches names case-insensitively); rejects unknown ones. */
    private static Map<String, Member> fields(Obj o, String what, String... allowed) throws PolicyException {
        Map<String, Member> out = new LinkedHashMap<>();
        List<String> ok = List.of(allowed);
        for (Member m : o.members().values()) {
            String k = m.key().toLowerCase(Locale.ROOT);
            if (!ok.contains(k)) throw new PolicyException("unknown field \"" + m.key() + "\" in " + what, m.line(), m.column());
            if (out.put(k, m) != null) throw new PolicyException("duplicate field \"" + m.key() + "\" in " + what, m.line(), m.column());
        }
        return out;
    }

    private static Member require(Obj o, Map<String, Member> f, String name) throws PolicyException {
        Member m = f.get(name);
        if (m == null) throw at(o, "missing \"" + name + "\"");
        return m;
    }

    private static Obj obj(Value v) throws PolicyException {
        if (v instanceof Obj o) return o;
        throw at(v, "expected an object, got " + v.kind());
    }

    private static Arr arr(Value v) throws PolicyException {
        if (v instanceof Arr a) return a;
        throw at(v, "expected an array, got " + v.kind());
    }

    private static Str str(Value v) throws PolicyException {
        if (v instanceof Str s) return s;
        throw at(v, "expected a string, got " + v.kind());
    }

    private static PolicyException at(Value v, String msg) {
        return new PolicyException(msg, v.line(), v.column());
    }
}
