package dev.lattice.control.policy;

import static dev.lattice.control.policy.Fixtures.node;
import static dev.lattice.control.policy.Fixtures.routes;
import static dev.lattice.control.policy.Fixtures.text;
import static dev.lattice.control.policy.Fixtures.user;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PolicyCompilerTest {
    static final List<User> USERS = List.of(user(1, "alice"), user(2, "bob"));
    static final String WILDCARD_SRC = "[100.64.0.0-100.115.91.255, 100.115.94.0-100.127.255.255, fd7a:115c:a1e0::/48]";

    // alice's laptop (1) and phone (2), alice's tagged server (3), bob's laptop (4), a tag-only router (5).
    static final TailnetNode LAPTOP = node(1, 1L), PHONE = node(2, 1L), SERVER = node(3, 1L, "tag:server"), BOB = node(4, 2L);
    static final TailnetNode ROUTER = routes(node(5, null, "tag:router"), "10.0.0.0/24", "0.0.0.0/0", "::/0");
    static final List<TailnetNode> NODES = List.of(LAPTOP, PHONE, SERVER, BOB, ROUTER);
    static final String DEFS = "\"groups\":{\"group:eng\":[\"alice@\"]},\"tagOwners\":{\"tag:server\":[\"alice@\"],\"tag:router\":[\"group:eng\",\"tag:server\"]},"
            + "\"hosts\":{\"db\":\"100.64.0.3\",\"lan\":\"10.0.0.0/16\",\"host-1\":\"100.100.100.100\",\"subnet-1\":\"100.100.101.100/24\"},";

    static CompiledPolicy compile(String body) throws PolicyException {
        return PolicyCompiler.compile(PolicyParser.parse("{" + DEFS + body + "}"), NODES, USERS);
    }

    /** policy body, node, expected filter (rule by rule). */
    static Stream<Arguments> filters() {
        return Stream.of(
                Arguments.of("basic rule (headscale's): CIDR sources, * and host destinations",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"subnet-1\",\"192.168.1.0/24\"],\"dst\":[\"*:22,3389\",\"host-1:*\"]}]",
                        LAPTOP, List.of("src=[100.100.101.0/24, 192.168.1.0/24] dst=[*:22, *:3389]")),
                Arguments.of("wildcard source is the tailnet ranges (ChromeOS range cut out) plus approved subnets",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"tag:server:22\"]}]",
                        SERVER, List.of("src=" + WILDCARD_SRC.replace("]", ", 10.0.0.0/24]") + " dst=[100.64.0.3:22, fd7a:115c:a1e0::3:22]")),
                Arguments.of("group source to a tag: IPv4 and IPv6 of the user's untagged devices",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"group:eng\"],\"dst\":[\"tag:server:22,80-90\"]}]",
                        SERVER, List.of("src=[100.64.0.1-100.64.0.2, fd7a:115c:a1e0::1-fd7a:115c:a1e0::2] dst=[100.64.0.3:22, 100.64.0.3:80-90, fd7a:115c:a1e0::3:22, fd7a:115c:a1e0::3:80-90]")),
                Arguments.of("a user's rule does not reach their tagged node",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"alice@:80\"]}]",
                        SERVER, List.of()),
                Arguments.of("a user's rule reaches their untagged nodes",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"alice@:80\"]}]",
                        PHONE, List.of("src=[100.64.0.4, fd7a:115c:a1e0::4] dst=[100.64.0.2:80, fd7a:115c:a1e0::2:80]")),
                Arguments.of("one-way: the destination has the rule, the source has none",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"alice@:80\"]}]",
                        BOB, List.of()),
                Arguments.of("protocols by name and number, IPProto only when given",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"bob@\"],\"proto\":\"udp\",\"dst\":[\"db:53\"]},"
                                + "{\"action\":\"accept\",\"src\":[\"bob@\"],\"proto\":\"47\",\"dst\":[\"db:*\"]},"
                                + "{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"db:443\"]}]",
                        SERVER, List.of("src=[100.64.0.4, fd7a:115c:a1e0::4] proto=[17] dst=[100.64.0.3:53]",
                                "src=[100.64.0.4, fd7a:115c:a1e0::4] proto=[47] dst=[100.64.0.3:*]",
                                "src=[100.64.0.4, fd7a:115c:a1e0::4] dst=[100.64.0.3:443]")),
                Arguments.of("equal sources and protocol merge, in policy order; host is only its literal address",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"db:22\"]},"
                                + "{\"action\":\"accept\",\"src\":[\"tag:router\"],\"dst\":[\"db:1\"]},"
                                + "{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"tag:server:80\"]}]",
                        SERVER, List.of("src=[100.64.0.4, fd7a:115c:a1e0::4] dst=[100.64.0.3:22, 100.64.0.3:80, fd7a:115c:a1e0::3:80]",
                                "src=[100.64.0.5, fd7a:115c:a1e0::5] dst=[100.64.0.3:1]")),
                Arguments.of("IPv6 literal destination",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"[fd7a:115c:a1e0::1]:22\"]}]",
                        LAPTOP, List.of("src=[100.64.0.4, fd7a:115c:a1e0::4] dst=[fd7a:115c:a1e0::1:22]")),
                Arguments.of("autogroup:self: the user's own untagged devices, to this node",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self:*\"]}]",
                        PHONE, List.of("src=[100.64.0.1-100.64.0.2, fd7a:115c:a1e0::1-fd7a:115c:a1e0::2] dst=[100.64.0.2:*, fd7a:115c:a1e0::2:*]")),
                Arguments.of("autogroup:self never applies to tagged nodes",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self:*\"]}]",
                        SERVER, List.of()),
                Arguments.of("autogroup:tagged and autogroup:member",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"autogroup:tagged\"],\"dst\":[\"autogroup:member:22\"]}]",
                        BOB, List.of("src=[100.64.0.3-100.64.0.5, fd7a:115c:a1e0::3, fd7a:115c:a1e0::5] dst=[100.64.0.4:22, fd7a:115c:a1e0::4:22]".replace("100.64.0.3-100.64.0.5", "100.64.0.3, 100.64.0.5"))),
                Arguments.of("subnet router gets destinations overlapping its approved routes",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"lan:22\", \"192.168.0.0/16:22\"]}]",
                        ROUTER, List.of("src=[100.64.0.4, fd7a:115c:a1e0::4] dst=[10.0.0.0/16:22]")),
                Arguments.of("exit node gets autogroup:internet",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"autogroup:internet:443\"]}]",
                        ROUTER, null),
                Arguments.of("non-exit nodes get nothing for autogroup:internet",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"autogroup:internet:443\"]}]",
                        LAPTOP, List.of()),
                Arguments.of("autogroup:danger-all source is *",
                        "\"acls\":[{\"action\":\"accept\",\"src\":[\"autogroup:danger-all\"],\"dst\":[\"db:22\"]}]",
                        SERVER, List.of("src=[*] dst=[100.64.0.3:22]")),
                Arguments.of("grants: ip entries with and without protocol",
                        "\"grants\":[{\"src\":[\"bob@\"],\"dst\":[\"tag:server\"],\"ip\":[\"tcp:443\",\"53\"]}]",
                        SERVER, List.of("src=[100.64.0.4, fd7a:115c:a1e0::4] proto=[6] dst=[100.64.0.3:443, fd7a:115c:a1e0::3:443]",
                                "src=[100.64.0.4, fd7a:115c:a1e0::4] dst=[100.64.0.3:53, fd7a:115c:a1e0::3:53]")),
                Arguments.of("the empty policy allows nothing", "\"acls\":[]", LAPTOP, List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("filters")
    void filterPerNode(String name, String body, TailnetNode node, List<String> expected) throws Exception {
        List<String> got = text(compile(body).filterFor(node));
        if (expected == null) { // autogroup:internet: the exit node gets every internet prefix on the port
            assertThat(got).hasSize(1);
            assertThat(got.getFirst()).startsWith("src=[100.64.0.4, fd7a:115c:a1e0::4] dst=[0.0.0.0/5:443, 8.0.0.0/7:443, 11.0.0.0/8:443")
                    .doesNotContain("10.0.0.0").doesNotContain("100.64.0.0").contains("2000::/3:443");
            return;
        }
        assertThat(got).isEqualTo(expected);
    }

    @Test
    void peersSeeEachOtherWhenEitherCanReachTheOther() throws Exception {
        CompiledPolicy p = compile("\"acls\":[{\"action\":\"accept\",\"src\":[\"group:eng\"],\"dst\":[\"tag:server:22\"]},"
                + "{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"autogroup:internet:*\"]}]");
        assertThat(p.canSee(LAPTOP, SERVER)).isTrue();
        assertThat(p.canSee(SERVER, LAPTOP)).isTrue();
        assertThat(p.canSee(LAPTOP, PHONE)).isFalse();
        assertThat(p.canSee(BOB, SERVER)).isFalse();
        assertThat(p.canSee(BOB, ROUTER)).as("exit node, approved and allowed").isTrue();
        assertThat(p.canSee(LAPTOP, ROUTER)).isFalse();
        CompiledPolicy unapproved = PolicyCompiler.compile(p == null ? null : PolicyParser.parse("{" + DEFS
                + "\"acls\":[{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"autogroup:internet:*\"]}]}"),
                List.of(LAPTOP, BOB, ROUTER.toBuilder().approvedRoutes(List.of()).build()), USERS);
        assertThat(unapproved.canSee(BOB, ROUTER)).as("exit routes announced but not approved").isFalse();
        CompiledPolicy self = compile("\"acls\":[{\"action\":\"accept\",\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self:*\"]}]");
        assertThat(self.canSee(LAPTOP, PHONE)).isTrue();
        assertThat(self.canSee(LAPTOP, BOB)).isFalse();
        assertThat(self.canSee(LAPTOP, SERVER)).isFalse();
        CompiledPolicy empty = compile("\"acls\":[]");
        assertThat(empty.canSee(LAPTOP, PHONE)).as("an empty acls list denies all").isFalse();
        assertThat(empty.filterFor(LAPTOP)).isEmpty();
        CompiledPolicy none = compile("");
        assertThat(none.canSee(LAPTOP, BOB)).as("no acls and no grants at all: Tailscale's default, allow all").isTrue();
        assertThat(text(none.filterFor(BOB))).containsExactly("src=" + WILDCARD_SRC.replace("]", ", 10.0.0.0/24]") + " dst=[*:*]");
    }

    @Test
    void policyTestsPassOrRejectThePolicyNamingTheFailure() throws Exception {
        String acl = "\"acls\":[{\"action\":\"accept\",\"src\":[\"group:eng\"],\"proto\":\"tcp\",\"dst\":[\"tag:server:22\"]}],";
        compile(acl + "\"tests\":[{\"src\":\"alice@\",\"accept\":[\"tag:server:22\"],\"deny\":[\"tag:server:80\",\"bob@:22\"]}]");
        assertThatThrownBy(() -> compile(acl + "\"tests\":[{\"src\":\"bob@\",\"accept\":[\"tag:server:22\"]}]"))
                .isInstanceOf(PolicyException.class)
                .hasMessageContaining("bob@ -> tag:server:22: expected ALLOWED, got DENIED");
        assertThatThrownBy(() -> compile(acl + "\"tests\":[{\"src\":\"alice@\",\"deny\":[\"tag:server:22\"]}]"))
                .hasMessageContaining("alice@ -> tag:server:22: expected DENIED, got ALLOWED");
        assertThatThrownBy(() -> compile(acl + "\"tests\":[{\"src\":\"alice@\",\"proto\":\"udp\",\"accept\":[\"tag:server:22\"]}]"))
                .hasMessageContaining("proto udp").hasMessageContaining("expected ALLOWED, got DENIED");
        assertThatThrownBy(() -> compile(acl + "\"tests\":[{\"src\":\"carol@\",\"accept\":[\"tag:server:22\"]}]"))
                .hasMessageContaining("resolved to no IP addresses");
        CompiledPolicy ok = PolicyParser.parse("{" + DEFS + acl.replaceAll(",$", "") + "}").check(NODES, USERS);
        assertThat(ok.definedTags()).containsExactly("tag:router", "tag:server");
    }

    @Test
    void tagOwnershipAndAutoApprovers() throws Exception {
        CompiledPolicy p = compile("\"autoApprovers\":{\"routes\":{\"10.0.0.0/8\":[\"tag:router\",\"bob@\"]},\"exitNode\":[\"group:eng\"]}");
        assertThat(p.userMayOwnTag(1, "tag:server")).isTrue();
        assertThat(p.userMayOwnTag(2, "tag:server")).isFalse();
        assertThat(p.userMayOwnTag(1, "tag:router")).as("via group").isTrue();
        assertThat(p.userMayOwnTag(1, "tag:nope")).isFalse();
        assertThat(p.tagMayOwnTag("tag:server", "tag:router")).isTrue();
        assertThat(p.tagMayOwnTag("tag:router", "tag:server")).isFalse();
        assertThat(p.autoApprovesRoute(ROUTER, IpPrefix.parse("10.0.0.0/24"))).isTrue();
        assertThat(p.autoApprovesRoute(ROUTER, IpPrefix.parse("192.168.0.0/24"))).isFalse();
        assertThat(p.autoApprovesRoute(BOB, IpPrefix.parse("10.1.0.0/16"))).isTrue();
        assertThat(p.autoApprovesRoute(LAPTOP, IpPrefix.parse("10.1.0.0/16"))).isFalse();
        assertThat(p.autoApprovesRoute(node(9, 2L, "tag:x"), IpPrefix.parse("10.1.0.0/16"))).as("bob's tagged node is not bob").isFalse();
        assertThat(p.autoApprovesExitNode(LAPTOP)).isTrue();
        assertThat(p.autoApprovesExitNode(ROUTER)).isFalse();
        assertThat(p.autoApprovesRoute(LAPTOP, IpPrefix.parse("0.0.0.0/0"))).isTrue();
    }

    @Test
    void sshPolicyForTheDestinationNode() throws Exception {
        CompiledPolicy p = compile("\"ssh\":[{\"action\":\"accept\",\"src\":[\"group:eng\"],\"dst\":[\"tag:server\"],\"users\":[\"root\",\"ubuntu\"]},"
                + "{\"action\":\"check\",\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self\"],\"users\":[\"autogroup:nonroot\"]}]");
        assertThat(p.sshPolicyFor(SERVER).toString()).isEqualTo("{\"rules\":[{\"principals\":[{\"nodeIP\":\"100.64.0.1\"},{\"nodeIP\":\"100.64.0.2\"},"
                + "{\"nodeIP\":\"fd7a:115c:a1e0::1\"},{\"nodeIP\":\"fd7a:115c:a1e0::2\"}],\"sshUsers\":{\"root\":\"root\",\"ubuntu\":\"ubuntu\"},"
                + "\"action\":{\"accept\":true,\"allowAgentForwarding\":true,\"allowLocalPortForwarding\":true,\"allowRemotePortForwarding\":true}}]}");
        assertThat(p.sshPolicyFor(LAPTOP).toString()).isEqualTo("{\"rules\":[{\"principals\":[{\"nodeIP\":\"100.64.0.1\"},{\"nodeIP\":\"100.64.0.2\"},"
                + "{\"nodeIP\":\"fd7a:115c:a1e0::1\"},{\"nodeIP\":\"fd7a:115c:a1e0::2\"}],\"sshUsers\":{\"*\":\"=\",\"root\":\"\"},"
                + "\"action\":{\"holdAndDelegate\":\"/machine/ssh/action/$SRC_NODE_ID/to/$DST_NODE_ID?local_user=$LOCAL_USER\"}}]}");
        assertThat(p.sshPolicyFor(BOB).get("rules").size()).as("bob's own devices only: just bob's node").isEqualTo(1);
        assertThat(compile("").sshPolicyFor(LAPTOP)).isNull();
    }

    @Test
    void nodesNotCompiledInAreDenied() throws Exception {
        CompiledPolicy p = compile("\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}]");
        TailnetNode stranger = node(77, 2L);
        assertThat(p.filterFor(stranger)).isEmpty();
        assertThat(p.canSee(stranger, LAPTOP)).isFalse();
        assertThat(p.canSee(LAPTOP, BOB)).isTrue();
        assertThat(text(p.filterFor(LAPTOP))).containsExactly("src=" + WILDCARD_SRC.replace("]", ", 10.0.0.0/24]") + " dst=[*:*]");
    }
}
