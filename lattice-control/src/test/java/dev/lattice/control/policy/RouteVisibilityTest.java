package dev.lattice.control.policy;

import static dev.lattice.control.policy.Fixtures.node;
import static dev.lattice.control.policy.Fixtures.routes;
import static dev.lattice.control.policy.Fixtures.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Which of a peer's approved routes a viewer gets in that peer's AllowedIPs: only those the policy lets it use, as
 * headscale's {@code ReduceRoutes}/{@code CanAccessRoute}. Cases follow headscale's {@code TestReduceRoutes}
 * (including its issues 2608, return traffic, and 3157, subnet to subnet), written as policies.
 */
class RouteVisibilityTest {
    static final List<User> USERS = List.of(user(1, "alice"), user(2, "bob"), user(3, "carol"));

    // alice's laptop (1) and phone (2), bob's laptop (4), carol's laptop (6), routers 5, 7 and 8 (tag-only).
    static final TailnetNode ALICE = node(1, 1L), PHONE = node(2, 1L), BOB = node(4, 2L), CAROL = node(6, 3L);
    static final TailnetNode ROUTER = routes(node(5, null, "tag:router"), "10.0.0.0/24", "192.168.1.0/24", "172.16.0.0/16");
    static final TailnetNode ROUTER_A = routes(node(7, null, "tag:a"), "10.88.8.0/24");
    static final TailnetNode ROUTER_B = routes(node(8, null, "tag:b"), "10.99.9.0/24");
    static final TailnetNode EXIT = routes(node(9, null, "tag:exit"), "0.0.0.0/0", "::/0");
    static final String OWNERS = "\"tagOwners\":{\"tag:router\":[\"alice@\"],\"tag:a\":[\"alice@\"],\"tag:b\":[\"alice@\"],\"tag:exit\":[\"alice@\"]},";

    static CompiledPolicy compile(String acls, TailnetNode... nodes) throws PolicyException {
        return PolicyCompiler.compile(PolicyParser.parse("{" + OWNERS + "\"acls\":[" + acls + "]}"), List.of(nodes), USERS);
    }

    static String acl(String src, String dst) {
        return "{\"action\":\"accept\",\"src\":[" + src + "],\"dst\":[" + dst + "]}";
    }

    static List<IpPrefix> prefixes(String... p) {
        return Stream.of(p).map(IpPrefix::parse).toList();
    }

    /** name, acls, the router's routes, viewer, expected routes (in the router's order). */
    static Stream<Arguments> cases() {
        TailnetNode r = ROUTER;
        return Stream.of(
                Arguments.of("a viewer that may reach anything gets every route",
                        acl("\"alice@\"", "\"*:*\""), r, ALICE, prefixes("10.0.0.0/24", "192.168.1.0/24", "172.16.0.0/16")),
                Arguments.of("a rule to one subnet gives that route only",
                        acl("\"alice@\"", "\"10.0.0.0/24:*\""), r, ALICE, prefixes("10.0.0.0/24")),
                Arguments.of("ports do not matter: any port into a subnet gives its route",
                        acl("\"alice@\"", "\"10.0.0.0/24:22\"") + "," + acl("\"alice@\"", "\"192.168.1.0/24:80\""), r, ALICE,
                        prefixes("10.0.0.0/24", "192.168.1.0/24")),
                Arguments.of("a destination overlapping part of a route gives the whole route",
                        acl("\"alice@\"", "\"172.16.5.0/24:*\""), r, ALICE, prefixes("172.16.0.0/16")),
                Arguments.of("another user's rule gives nothing",
                        acl("\"bob@\"", "\"*:*\""), r, ALICE, prefixes()),
                Arguments.of("reaching the router is not reaching its subnets",
                        acl("\"*\"", "\"tag:router:*\""), r, BOB, prefixes()),
                Arguments.of("the router itself uses the subnets the * source stands for",
                        acl("\"*\"", "\"tag:router:*\""), r, r, prefixes("10.0.0.0/24", "192.168.1.0/24", "172.16.0.0/16")),
                Arguments.of("return traffic: a subnet allowed to reach the viewer gives its route (headscale 2608)",
                        acl("\"192.168.1.0/24\", \"tag:router\"", "\"*:*\""), r, BOB, prefixes("192.168.1.0/24")),
                Arguments.of("no leak to a node nothing connects with (headscale 2608)",
                        acl("\"192.168.1.0/24\", \"tag:router\"", "\"bob@:*\"") + "," + acl("\"10.0.0.0/24\"", "\"tag:router:*\""), r,
                        CAROL, prefixes()),
                Arguments.of("the node a subnet may reach gets that subnet only (headscale 2608)",
                        acl("\"192.168.1.0/24\", \"tag:router\"", "\"bob@:*\"") + "," + acl("\"10.0.0.0/24\"", "\"tag:router:*\""), r,
                        BOB, prefixes("192.168.1.0/24")),
                Arguments.of("subnet to subnet: the source subnet's router gets the destination route (headscale 3157)",
                        acl("\"10.88.8.0/24\"", "\"10.99.9.0/24:*\""), ROUTER_B, ROUTER_A, prefixes("10.99.9.0/24")),
                Arguments.of("subnet to subnet: the destination subnet's router gets the source route (headscale 3157)",
                        acl("\"10.88.8.0/24\"", "\"10.99.9.0/24:*\""), ROUTER_A, ROUTER_B, prefixes("10.88.8.0/24")),
                Arguments.of("subnet to subnet: a plain node gets neither route (headscale 3157)",
                        acl("\"10.88.8.0/24\"", "\"10.99.9.0/24:*\""), ROUTER_A, CAROL, prefixes()),
                Arguments.of("an exit node's routes go to a viewer allowed to the internet",
                        acl("\"bob@\"", "\"autogroup:internet:*\""), EXIT, BOB, prefixes("0.0.0.0/0", "::/0")),
                Arguments.of("exit routes follow address families: a rule to IPv4 addresses gives 0.0.0.0/0 only",
                        acl("\"bob@\"", "\"10.0.0.0/24:*\""), EXIT, BOB, prefixes("0.0.0.0/0")),
                Arguments.of("exit routes go to a viewer with any rule in the family, as in headscale",
                        acl("\"bob@\"", "\"tag:exit:22\""), EXIT, BOB, prefixes("0.0.0.0/0", "::/0")),
                Arguments.of("exit routes do not go to a viewer with no rules",
                        acl("\"bob@\"", "\"tag:exit:22\""), EXIT, CAROL, prefixes()),
                Arguments.of("autogroup:self counts for the viewer: its own devices' addresses lie in an exit route",
                        acl("\"autogroup:member\"", "\"autogroup:self:*\""), EXIT, PHONE, prefixes("0.0.0.0/0", "::/0")),
                Arguments.of("autogroup:self alone gives a viewer no subnet route",
                        acl("\"autogroup:member\"", "\"autogroup:self:*\""), r, PHONE, prefixes()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void viewerGetsOnlyTheRoutesItMayUse(String name, String acls, TailnetNode router, TailnetNode viewer, List<IpPrefix> expected)
            throws Exception {
        CompiledPolicy p = compile(acls, ALICE, PHONE, BOB, CAROL, ROUTER, ROUTER_A, ROUTER_B, EXIT);
        List<IpPrefix> all = router.announcedRoutes();
        assertThat(p.reduceRoutes(viewer, all)).isEqualTo(expected);
    }

    @Test
    void subnetRoutersConnectingTheirSubnetsSeeEachOther() throws Exception {
        // headscale 3157: a rule between two subnets makes their routers peers; a bystander sees neither.
        CompiledPolicy p = compile(acl("\"10.88.8.0/24\"", "\"10.99.9.0/24:*\""), ALICE, CAROL, ROUTER_A, ROUTER_B);
        assertThat(p.canSee(ROUTER_A, ROUTER_B)).isTrue();
        assertThat(p.canSee(ROUTER_B, ROUTER_A)).isTrue();
        assertThat(p.canSee(CAROL, ROUTER_A)).isFalse();
        assertThat(p.canSee(CAROL, ROUTER_B)).isFalse();
    }

    @Test
    void unapprovedOrUnannouncedRoutesAreNotRoutesAtAll() throws Exception {
        // The source router's subnet counts only when approved and announced, so without approval A is a bystander.
        TailnetNode unapproved = ROUTER_A.toBuilder().approvedRoutes(List.of()).build();
        CompiledPolicy p = compile(acl("\"10.88.8.0/24\"", "\"10.99.9.0/24:*\""), unapproved, ROUTER_B);
        assertThat(p.reduceRoutes(unapproved, prefixes("10.99.9.0/24"))).isEmpty();
        assertThat(p.canSee(unapproved, ROUTER_B)).isFalse();
    }

    @Test
    void aNodeTheCompiledPolicyDoesNotKnowGetsNoRoutes() throws Exception {
        CompiledPolicy p = compile(acl("\"*\"", "\"*:*\""), ALICE, ROUTER);
        assertThat(p.reduceRoutes(ALICE, prefixes("10.0.0.0/24"))).containsExactly(IpPrefix.parse("10.0.0.0/24"));
        assertThat(p.reduceRoutes(BOB, prefixes("10.0.0.0/24"))).as("joined after the compile: deny until the next").isEmpty();
    }
}
