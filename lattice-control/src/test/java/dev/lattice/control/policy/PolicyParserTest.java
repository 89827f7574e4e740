package dev.lattice.control.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.policy.Policy.Dest;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.PortRange;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PolicyParserTest {

    @Test
    void parsesEverySectionFromHuJsonWithCommentsAndTrailingCommas() throws Exception {
        Policy p = PolicyParser.parse("""
                // a comment
                {
                  "groups": {"group:eng": ["alice@", "bob@example.com",],},
                  "hosts": {"db": "100.64.0.9", "lan": "192.168.1.0/24"},
                  "tagOwners": {"tag:web": ["group:eng"], "tag:ci": ["tag:web", "alice@"]},
                  /* block comment */
                  "acls": [
                    {"action": "accept", "src": ["group:eng", "10.0.0.0/8"], "proto": "tcp",
                     "dst": ["tag:web:80,443", "db:5432", "lan:1000-2000", "[fd7a:115c:a1e0::1]:22", "autogroup:internet:*"]},
                    {"Action": "accept", "src": ["*"], "dst": ["autogroup:self:*"]},
                  ],
                  "grants": [{"src": ["autogroup:member"], "dst": ["tag:ci"], "ip": ["tcp:22", "53", "*", "icmp:*"]}],
                  "autoApprovers": {"routes": {"10.0.0.0/8": ["tag:web", "group:eng"]}, "exitNode": ["tag:ci"]},
                  "ssh": [{"action": "check", "src": ["group:eng"], "dst": ["autogroup:self"], "users": ["autogroup:nonroot", "root"], "checkPeriod": "12h"}],
                  "tests": [{"src": "alice@", "proto": "tcp", "accept": ["tag:web:80"], "deny": ["db:22"]}],
                  "nodeAttrs": [{"target": ["*"], "attr": ["funnel"]}],
                }
                """);
        assertThat(p.groups().get("group:eng")).containsExactly(new Alias.User("alice@"), new Alias.User("bob@example.com"));
        assertThat(p.hosts()).containsEntry("lan", IpPrefix.parse("192.168.1.0/24"));
        assertThat(p.tagOwners().get("tag:ci")).containsExactly(new Alias.Tag("tag:web"), new Alias.User("alice@"));
        assertThat(p.acls()).hasSize(2);
        var acl = p.acls().getFirst();
        assertThat(acl.proto().numbers()).containsExactly(6);
        assertThat(acl.src()).containsExactly(new Alias.Group("group:eng"), new Alias.Prefix(IpPrefix.parse("10.0.0.0/8")));
        assertThat(acl.dst()).containsExactly(
                new Dest(new Alias.Tag("tag:web"), List.of(new PortRange(80, 80), new PortRange(443, 443))),
                new Dest(new Alias.Host("db"), List.of(new PortRange(5432, 5432))),
                new Dest(new Alias.Host("lan"), List.of(new PortRange(1000, 2000))),
                new Dest(new Alias.Prefix(IpPrefix.parse("fd7a:115c:a1e0::1/128")), List.of(new PortRange(22, 22))),
                new Dest(new Alias.AutoGroup("autogroup:internet"), List.of(PortRange.ANY)));
        assertThat(acl.pos().line()).isEqualTo(8);
        assertThat(p.acls().get(1).proto().numbers()).isNull();
        assertThat(p.grants().getFirst().ip()).hasSize(4);
        assertThat(p.grants().getFirst().ip().get(1).proto().numbers()).isNull();
        assertThat(p.grants().getFirst().ip().get(3).proto().numbers()).containsExactly(1);
        assertThat(p.autoApprovers().routes().get(IpPrefix.parse("10.0.0.0/8"))).hasSize(2);
        assertThat(p.autoApprovers().exitNode()).containsExactly(new Alias.Tag("tag:ci"));
        assertThat(p.ssh().getFirst().checkPeriod()).isEqualTo("12h");
        assertThat(p.tests().getFirst().deny()).containsExactly(new Dest(new Alias.Host("db"), List.of(new PortRange(22, 22))));
    }

    /** Grants with {@code app}: capability names sorted, values kept as written (HuJSON comments and commas gone). */
    @Test
    void parsesAppGrants() throws Exception {
        Policy p = PolicyParser.parse("""
                {"tagOwners": {"tag:server": []},
                 "grants": [
                  {"src": ["*"], "dst": ["*"], "app": {
                    // Tailscale's own capabilities a policy may grant
                    "tailscale.com/cap/drive": [{"shares": ["*"], "access": "rw"},],
                    "tailscale.com/cap/relay": [], "tailscale.com/cap/webui": [{}], "tailscale.com/cap/kubernetes": [{}],
                    "tailscale.com/cap/tsidp": [{"n": 1.5, "big": 123456789012345678901234567890, "neg": -7, "t": true, "z": null}],
                    "my-company.internal/cap/access": null,
                    "example.com/a/b/c/d/e/f": ["x"],
                  }},
                  {"src": ["autogroup:member"], "dst": ["tag:server"], "ip": ["tcp:443"], "app": {"example.com/cap/test": [{}]}},
                 ]}
                """);
        Policy.Grant g = p.grants().getFirst();
        assertThat(g.ip()).isEmpty();
        assertThat(g.app().keySet()).containsExactly("example.com/a/b/c/d/e/f", "my-company.internal/cap/access", "tailscale.com/cap/drive",
                "tailscale.com/cap/kubernetes", "tailscale.com/cap/relay", "tailscale.com/cap/tsidp", "tailscale.com/cap/webui");
        assertThat(g.app().get("my-company.internal/cap/access")).isNull();
        assertThat(g.app().get("tailscale.com/cap/relay")).isEmpty();
        assertThat(g.app().get("tailscale.com/cap/drive").toString()).isEqualTo("[{\"shares\":[\"*\"],\"access\":\"rw\"}]");
        assertThat(g.app().get("tailscale.com/cap/tsidp").toString())
                .isEqualTo("[{\"n\":1.5,\"big\":123456789012345678901234567890,\"neg\":-7,\"t\":true,\"z\":null}]");
        Policy.Grant both = p.grants().get(1);
        assertThat(both.ip()).hasSize(1);
        assertThat(both.app()).containsOnlyKeys("example.com/cap/test");
    }

    /** {@code via}: the router tags a grant steers its sources through, each once, in order. */
    @Test
    void parsesViaGrants() throws Exception {
        Policy p = PolicyParser.parse("""
                {"tagOwners": {"tag:router-a": [], "tag:router-b": []},
                 "grants": [
                  {"src": ["*"], "dst": ["10.44.0.0/16", "autogroup:internet"], "ip": ["*"], "via": ["tag:router-b", "tag:router-a", "tag:router-b"]},
                  {"src": ["*"], "dst": ["10.44.0.0/16"], "app": {"example.com/cap/subnet-access": [{}]}, "via": ["tag:router-a"]},
                  {"src": ["*"], "dst": ["*"], "ip": ["*"]},
                 ]}
                """);
        assertThat(p.grants().get(0).via()).containsExactly("tag:router-b", "tag:router-a");
        assertThat(p.grants().get(1).via()).containsExactly("tag:router-a");
        assertThat(p.grants().get(2).via()).isEmpty();
    }

    @Test
    void aPolicyWithoutAclsOrGrantsAllowsEverythingAsTailscalesDefault() throws Exception {
        Policy p = PolicyParser.parse("{}");
        assertThat(p.acls()).singleElement().satisfies(a -> {
            assertThat(a.src()).containsExactly(Alias.WILDCARD);
            assertThat(a.dst()).containsExactly(new Policy.Dest(Alias.WILDCARD, List.of(PortRange.ANY)));
        });
        assertThat(p.grants()).isEmpty();
        assertThat(PolicyParser.parse("{\"acls\": []}").acls()).as("an empty list is a choice: deny all").isEmpty();
        assertThat(PolicyParser.parse("{\"grants\": []}").acls()).as("grants alone replace the default too").isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "TCP", "6"})
    void protocolsByNameOrNumber(String proto) throws Exception {
        Policy p = PolicyParser.parse("{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"proto\":\"" + proto + "\",\"dst\":[\"*:22\"]}]}");
        assertThat(p.acls().getFirst().proto().numbers()).containsExactly(6);
        Policy q = PolicyParser.parse("{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"proto\":47,\"dst\":[\"*:*\"]}]}");
        assertThat(q.acls().getFirst().proto().numbers()).containsExactly(47);
    }

    /** Each case: policy text, the text the error must point at (its first occurrence), and the reason. */
    static Stream<Arguments> errors() {
        String acl = "{\"acls\":[{\"action\":\"accept\",\"src\":[%s],\"dst\":[%s]}]}";
        return Stream.of(
                Arguments.of("{\n  \"acls\": [\n    {\"action\": \"accept\", \"src\": [\"group:nope\"], \"dst\": [\"*:*\"]}]}",
                        "\"group:nope", "group \"group:nope\" is not defined in groups"),
                Arguments.of(acl.formatted("\"tag:x\"", "\"*:*\""), "\"tag:x", "tag \"tag:x\" is not defined in tagOwners"),
                Arguments.of(acl.formatted("\"*\"", "\"db:22\""), "\"db:22", "host \"db\" is not defined in hosts"),
                Arguments.of(acl.formatted("\"autogroup:admins\"", "\"*:*\""), "\"autogroup:admins", "unknown autogroup \"autogroup:admins\""),
                Arguments.of(acl.formatted("\"autogroup:self\"", "\"*:*\""), "\"autogroup:self", "\"autogroup:self\" not valid on the src side"),
                Arguments.of(acl.formatted("\"autogroup:member\", \"10.0.0.0/8\"", "\"autogroup:self:*\""), "\"10.0.0.0/8",
                        "autogroup:self can only be used with users, groups, or supported autogroups (source \"10.0.0.0/8\")"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"autogroup:self\"],\"ip\":[\"*\"]}]}", "\"*\"],\"dst",
                        "autogroup:self can only be used with users, groups, or supported autogroups (source \"*\")"),
                Arguments.of(acl.formatted("\"autogroup:internet\"", "\"*:*\""), "\"autogroup:internet", "autogroup:internet can only be used in ACL destinations"),
                Arguments.of(acl.formatted("\"*\"", "\"autogroup:danger-all:*\""), "\"autogroup:danger", "cannot use autogroup:danger-all as a dst"),
                Arguments.of(acl.formatted("\"*\"", "\"*:90-80\""), "\"*:90", "bad port range \"90-80\""),
                Arguments.of(acl.formatted("\"*\"", "\"*:70000\""), "\"*:7", "port 70000 is out of range"),
                Arguments.of(acl.formatted("\"*\"", "\"*:http\""), "\"*:h", "\"http\" is not a port number"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"ip\":[\"tcp:0\"]}]}", "\"tcp:0",
                        "port range \"0\": first port must be >0, or use '*' for wildcard"),
                Arguments.of(acl.formatted("\"*\"", "\"*:22,0\""), "\"*:22", "port range \"0\": first port must be >0"),
                Arguments.of(acl.formatted("\"*\"", "\"*\""), "\"*\"]}", "must have ports"),
                Arguments.of(acl.formatted("\"1.2.3.4/40\"", "\"*:*\""), "\"1.2", "prefix length too large"),
                Arguments.of(acl.formatted("\"bad alias!\"", "\"*:*\""), "\"bad", "invalid alias \"bad alias!\""),
                Arguments.of("{\"acls\":[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}]}", "\"deny", "invalid ACL action \"deny\""),
                Arguments.of("{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"proto\":\"icmp\",\"dst\":[\"*:22\"]}]}", "\"*:22",
                        "protocol \"icmp\" does not support specific ports"),
                Arguments.of("{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"proto\":\"smtp\",\"dst\":[\"*:*\"]}]}", "\"smtp", "unknown protocol \"smtp\""),
                Arguments.of("{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"proto\":\"256\",\"dst\":[\"*:*\"]}]}", "\"256", "out of range (0-255)"),
                Arguments.of("{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"],\"extra\":1}]}", "\"extra", "unknown field \"extra\" in ACL"),
                Arguments.of("{\"groups\":{\"group:a\":[\"group:b\"],\"group:b\":[\"x@\"]}}", "\"group:b", "groups cannot contain groups"),
                Arguments.of("{\"groups\":{\"eng\":[\"x@\"]}}", "\"eng", "group names must start with \"group:\""),
                Arguments.of("{\"tagOwners\":{\"tag:a\":[\"group:none\"]}}", "\"group:none", "group \"group:none\" is not defined"),
                Arguments.of("{\"tagOwners\":{\"tag:a\":[\"tag:b\"]}}", "\"tag:b", "tag \"tag:b\" is not defined in tagOwners"),
                Arguments.of("{\"tagOwners\":{\"tag:1a\":[]}}", "\"tag:1a", "must start with a letter"),
                Arguments.of("{\"hosts\":{\"db\":\"not-an-ip\"}}", "\"not-an-ip", "host \"db\": bad IP address"),
                Arguments.of("{\"acl\":[]}", "\"acl", "unknown section \"acl\""),
                Arguments.of("{\"acls\":[],\n \"acls\":[]}", "\"acls\":[]}", "duplicate key \"acls\""),
                Arguments.of("{\"acls\": {}}", "{}", "expected an array, got an object"),
                Arguments.of("[]", "[", "policy must be an object"),
                Arguments.of("{\"acls\": [\n  {\"action\": \"accept\",, }]}", ", }", "invalid HuJSON"),
                Arguments.of("{\"tests\":[{\"src\":\"a@\"}]}", "{\"src", "at least one of \"accept\" or \"deny\""),
                Arguments.of("{\"tests\":[{\"src\":\"a@\",\"accept\":[\"1.2.3.4:1-2\"]}]}", "\"1.2", "must name one port"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"]}]}", "{\"src", "ip and app can not both be empty"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"ip\":[\"tcp:1:2\"]}]}", "\"tcp", "expected protocol:ports"),
                // Grants with app, with headscale v0.29.2's messages (Tailscale's, per the captured grant-a2, a5, h1, k9, k10, v01, v04, v05).
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":{\"https://tailscale.com/cap/ingress\":[{}]}}]}", "\"https:",
                        "capability name must have the form {domain}/{path}"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":{\"example.com/ok\":[],\n \"tailscale.com/cap/relay-target\":[{}]}}]}",
                        "\"tailscale.com/cap/relay-target", "grant app \"tailscale.com/cap/relay-target\": capability name must not be in the tailscale.com domain"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":{\"tailscale.com/cap/ingress\":[{}]}}]}", "\"tailscale.com/cap/ingress",
                        "capability name must not be in the tailscale.com domain"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":{\"tailscale.com/cap/funnel\":[{}]}}]}", "\"tailscale.com/cap/funnel",
                        "capability name must not be in the tailscale.com domain"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\", \"autogroup:internet\"],\"ip\":[\"*\"],\"app\":{\"example.com/cap/x\":[{}]}}]}",
                        "\"autogroup:internet", "cannot use app grants with autogroup:internet"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":{}}]}", "{}}", "grant: ip and app can not both be empty"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"ip\":[],\"app\":{}}]}", "[],", "grant: ip and app can not both be empty"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"0.0.0.0/0\"],\"app\":{\"example.com/cap/x\":[{}]}}]}", "\"0.0.0.0/0",
                        "dst \"0.0.0.0/0\": to allow all IP addresses, use \"*\" or \"autogroup:internet\""),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"::/0\"],\"ip\":[\"*\"]}]}", "\"::/0",
                        "dst \"::/0\": to allow all IP addresses, use \"*\" or \"autogroup:internet\""),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":{\"example.com/cap/x\":{\"a\":1}}}]}", "{\"a\"",
                        "expected an array, got an object"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":[]}]}", "[]}", "expected an object, got an array"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":{\"example.com/cap/x\":[{\"n\":1e9999999999}]}}]}", "1e9",
                        "number 1e9999999999 is out of range"),
                Arguments.of("{\"grants\":[{\"src\":[\"autogroup:self\"],\"dst\":[\"*\"],\"app\":{\"example.com/cap/x\":[{}]}}]}", "\"autogroup:self",
                        "\"autogroup:self\" not valid on the src side of a rule"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"autogroup:self\"],\"app\":{\"example.com/cap/x\":[{}]}}]}", "\"*\"],\"dst",
                        "autogroup:self can only be used with users, groups, or supported autogroups"),
                // via: Tailscale's messages (grant-i4, grant-k30)
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"10.33.0.0/16\"],\"ip\":[\"*\"],\"via\":[\"autogroup:tagged\"]}]}",
                        "\"autogroup:tagged", "via can only be a tag"),
                Arguments.of("{\"tagOwners\":{\"tag:router\":[]},\"grants\":[{\"src\":[\"*\"],\"dst\":[\"10.33.0.0/16\"],\"ip\":[\"*\"],"
                        + "\"via\":[\"tag:router\",\"tag:nonexistent\"]}]}", "\"tag:nonexistent", "tag \"tag:nonexistent\" not found"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"10.33.0.0/16\"],\"ip\":[\"*\"],\"via\":[\"alice@example.com\"]}]}",
                        "\"alice", "via can only be a tag"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"10.33.0.0/16\"],\"ip\":[\"*\"],\"via\":[7]}]}", "7]",
                        "via can only be a tag"),
                Arguments.of("{\"grants\":[{\"src\":[\"*\"],\"dst\":[\"10.33.0.0/16\"],\"ip\":[\"*\"],\"via\":\"tag:x\"}]}", "\"tag:x",
                        "expected an array"),
                Arguments.of("{\"tagOwners\":{\"tag:exit\":[]},\"grants\":[{\"src\":[\"*\"],\"dst\":[\"0.0.0.0/0\"],\"ip\":[\"*\"],\"via\":[\"tag:exit\"]}]}",
                        "\"0.0.0.0/0", "to allow all IP addresses, use \"*\" or \"autogroup:internet\""),
                Arguments.of("{\"ssh\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"autogroup:self\"],\"users\":[\"root\"]}]}", "\"*",
                        "SSH source must be"),
                Arguments.of("{\"ssh\":[{\"action\":\"accept\",\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self\"],\"users\":[]}]}", "[]",
                        "users must be specified"),
                Arguments.of("{\"autoApprovers\":{\"routes\":{\"10.0.0.0/33\":[\"a@\"]}}}", "\"10.", "autoApprovers route: prefix length too large"));
    }

    @ParameterizedTest
    @MethodSource("errors")
    void rejectsWithLineColumnAndReason(String text, String at, String message) {
        int idx = text.indexOf(at);
        assertThat(idx).as("marker in test text").isNotNegative();
        int line = 1 + (int) text.substring(0, idx).chars().filter(c -> c == '\n').count();
        int column = idx - text.lastIndexOf('\n', idx - 1);
        assertThatThrownBy(() -> PolicyParser.parse(text))
                .isInstanceOfSatisfying(PolicyException.class, e -> {
                    assertThat(e.getMessage()).contains(message);
                    assertThat(e.line()).as("line of: " + e.getMessage()).isEqualTo(line);
                    assertThat(e.column()).as("column of: " + e.getMessage()).isEqualTo(column);
                });
    }

    @Test
    void rejectsTooDeepNestingAndOversizedInput() {
        String deep = "{\"acls\":" + "[".repeat(200) + "]".repeat(200) + "}";
        assertThatThrownBy(() -> PolicyParser.parse(deep)).isInstanceOf(PolicyException.class);
        assertThatThrownBy(() -> PolicyParser.parse(" ".repeat(PolicySize.MAX_BYTES + 1)))
                .hasMessage("policy is 8388609 bytes; the limit is 8 MiB");
        // Counted in UTF-8 bytes, as the file is: 3 million CJK characters are 9 MB.
        assertThatThrownBy(() -> PolicyParser.parse("{} // " + "\u4e2d".repeat(3_000_000)))
                .hasMessage("policy is 8.6 MiB; the limit is 8 MiB");
    }

    /** Mutated valid policies: the parser either accepts or throws PolicyException, never anything else. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
    void randomMutationsNeverCrash(long seed) {
        String base = """
                {"groups": {"group:eng": ["alice@"]}, "hosts": {"db": "100.64.0.9"},
                 "tagOwners": {"tag:web": ["group:eng"]},
                 "acls": [{"action": "accept", "src": ["group:eng", "tag:web"], "proto": "tcp", "dst": ["db:22,80-90", "tag:web:*"]}],
                 "grants": [{"src": ["group:eng"], "dst": ["tag:web"], "app": {"example.com/cap/x": [{"a": [1, 2.5e3, true, null]}]}}],
                 "tests": [{"src": "alice@", "accept": ["db:22"]}]}
                """;
        Random r = new Random(seed);
        String alphabet = "{}[]\":,*-/@.0123456789abcdefgtagroup:autogroup:self\n/*//";
        for (int i = 0; i < 500; i++) {
            StringBuilder sb = new StringBuilder(base);
            int edits = 1 + r.nextInt(4);
            for (int e = 0; e < edits; e++) {
                int pos = r.nextInt(sb.length());
                switch (r.nextInt(3)) {
                    case 0 -> sb.deleteCharAt(pos);
                    case 1 -> sb.insert(pos, alphabet.charAt(r.nextInt(alphabet.length())));
                    default -> sb.setCharAt(pos, alphabet.charAt(r.nextInt(alphabet.length())));
                }
            }
            try {
                PolicyParser.parse(sb.toString());
            } catch (PolicyException e) {
                assertThat(e.getMessage()).isNotBlank();
            }
        }
    }
}
