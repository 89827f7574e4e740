package dev.lattice.control.policy;

import static dev.lattice.control.policy.Fixtures.node;
import static dev.lattice.control.policy.Fixtures.routes;
import static dev.lattice.control.policy.Fixtures.text;
import static dev.lattice.control.policy.Fixtures.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.netmap.PeerRoutes;
import dev.lattice.control.netmap.ViaRoutes;
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
 * Grants with {@code via}: which routers' filters get the rule (headscale's compileViaForNode), what they do to a peer's
 * routes in a viewer's netmap (headscale's {@code ViaRoutesForPeer}: include, exclude, use the primary) and the routes
 * that come out of it ({@code State.RoutesForPeer}). Cases follow headscale's {@code TestViaRoutesForPeer}, plus the
 * election among several via routers and regular grants covering the same routes.
 */
class ViaGrantTest {
    static final List<User> USERS = List.of(user(1, "alice"), user(2, "bob"));
    static final String OWNERS = "\"tagOwners\":{\"tag:router\":[\"alice@\"],\"tag:other\":[\"alice@\"],\"tag:a\":[\"alice@\"],"
            + "\"tag:b\":[\"alice@\"],\"tag:exit\":[\"alice@\"],\"tag:ga\":[\"alice@\"],\"tag:gb\":[\"alice@\"]},";

    static final TailnetNode ALICE = node(1, 1L), BOB = node(2, 2L);

    static CompiledPolicy compile(String grants, TailnetNode... nodes) throws PolicyException {
        return PolicyCompiler.compile(PolicyParser.parse("{" + OWNERS + "\"grants\":[" + grants + "]}"), List.of(nodes), USERS);
    }

    static String via(String src, String dst, String tags) {
        return "{\"src\":[" + src + "],\"dst\":[" + dst + "],\"ip\":[\"*\"],\"via\":[" + tags + "]}";
    }

    static String grant(String src, String dst) {
        return "{\"src\":[" + src + "],\"dst\":[" + dst + "],\"ip\":[\"*\"]}";
    }

    static List<IpPrefix> p(String... s) {
        return Stream.of(s).map(IpPrefix::parse).toList();
    }

    /** name, grants, nodes, viewer, peer, expected include, exclude, usePrimary. */
    static Stream<Arguments> steering() {
        TailnetNode router = routes(node(5, null, "tag:router"), "10.0.0.0/24");
        String one = via("\"alice@\"", "\"10.0.0.0/24\"", "\"tag:router\"");
        TailnetNode other = routes(node(6, null, "tag:other"), "10.0.0.0/24");
        TailnetNode both = routes(node(7, null, "tag:router"), "10.0.0.0/24", "0.0.0.0/0", "::/0");
        TailnetNode exit = routes(node(8, null, "tag:exit"), "0.0.0.0/0", "::/0");
        TailnetNode otherExit = routes(node(9, null, "tag:other"), "0.0.0.0/0", "::/0");
        TailnetNode narrow = routes(node(10, null, "tag:router"), "10.33.5.0/24");
        TailnetNode wide = routes(node(11, null, "tag:router"), "10.33.0.0/16");
        TailnetNode second = routes(node(12, null, "tag:router"), "10.0.0.0/24");
        return Stream.of(
                Arguments.of("a node does not steer itself", one, List.of(router), router, router, p(), p(), p()),
                Arguments.of("a viewer outside the sources is not steered", one, List.of(BOB, router), BOB, router, p(), p(), p()),
                Arguments.of("a peer not serving the destination is not steered", one,
                        List.of(ALICE, routes(node(5, null, "tag:router"), "192.168.0.0/24")), ALICE, null, p(), p(), p()),
                Arguments.of("a peer with the via tag serving the destination: included", one, List.of(ALICE, router), ALICE, router,
                        p("10.0.0.0/24"), p(), p()),
                Arguments.of("a peer without the via tag serving it: excluded", one, List.of(ALICE, other), ALICE, other,
                        p(), p("10.0.0.0/24"), p()),
                Arguments.of("autogroup:internet with a prefix: the subnet and the exit routes",
                        via("\"alice@\"", "\"10.0.0.0/24\",\"autogroup:internet\"", "\"tag:router\""), List.of(ALICE, both), ALICE, both,
                        p("10.0.0.0/24", "0.0.0.0/0", "::/0"), p(), p()),
                Arguments.of("autogroup:internet: an exit node with the via tag is included",
                        via("\"alice@\"", "\"autogroup:internet\"", "\"tag:exit\""), List.of(ALICE, exit, otherExit), ALICE, exit,
                        p("0.0.0.0/0", "::/0"), p(), p()),
                Arguments.of("autogroup:internet: an exit node without it is excluded",
                        via("\"alice@\"", "\"autogroup:internet\"", "\"tag:exit\""), List.of(ALICE, exit, otherExit), ALICE, otherExit,
                        p(), p("0.0.0.0/0", "::/0"), p()),
                Arguments.of("a broader destination includes the narrower route served",
                        via("\"alice@\"", "\"10.0.0.0/8\"", "\"tag:router\""), List.of(ALICE, narrow), ALICE, narrow, p("10.33.5.0/24"), p(), p()),
                Arguments.of("a narrower destination includes the broader route served",
                        via("\"alice@\"", "\"10.33.5.0/24\"", "\"tag:router\""), List.of(ALICE, wide), ALICE, wide, p("10.33.0.0/16"), p(), p()),
                Arguments.of("a disjoint destination steers nothing",
                        via("\"alice@\"", "\"192.168.0.0/16\"", "\"tag:router\""), List.of(ALICE, wide), ALICE, wide, p(), p(), p()),
                Arguments.of("two via routers for one route: the lowest id keeps it", one, List.of(ALICE, router, second), ALICE, router,
                        p("10.0.0.0/24"), p(), p()),
                Arguments.of("two via routers for one route: the other one is excluded", one, List.of(ALICE, router, second), ALICE, second,
                        p(), p("10.0.0.0/24"), p()),
                Arguments.of("a regular grant covering an included route defers it to the HA primary",
                        one + "," + grant("\"alice@\"", "\"10.0.0.0/16\""), List.of(ALICE, router), ALICE, router,
                        p("10.0.0.0/24"), p(), p("10.0.0.0/24")),
                Arguments.of("a regular grant covering an excluded route lifts the exclusion",
                        one + "," + grant("\"alice@\"", "\"10.0.0.0/24\""), List.of(ALICE, router, other), ALICE, other, p(), p(), p()),
                Arguments.of("another viewer's regular grant changes nothing",
                        one + "," + grant("\"bob@\"", "\"10.0.0.0/24\""), List.of(ALICE, BOB, router, other), ALICE, other,
                        p(), p("10.0.0.0/24"), p()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("steering")
    void steersAsHeadscale(String name, String grants, List<TailnetNode> nodes, TailnetNode viewer, TailnetNode peer,
            List<IpPrefix> include, List<IpPrefix> exclude, List<IpPrefix> usePrimary) throws PolicyException {
        TailnetNode target = peer != null ? peer : nodes.getLast();
        CompiledPolicy c = compile(grants, nodes.toArray(TailnetNode[]::new));
        assertThat(c.hasVia()).isTrue();
        ViaRoutes r = c.viaRoutes(viewer, target);
        assertThat(r.include()).as("include").containsExactlyElementsOf(include);
        assertThat(r.exclude()).as("exclude").containsExactlyElementsOf(exclude);
        assertThat(r.usePrimary()).as("usePrimary").containsExactlyElementsOf(usePrimary);
    }

    @Test
    void withoutViaNothingIsSteered() throws PolicyException {
        TailnetNode router = routes(node(5, null, "tag:router"), "10.0.0.0/24");
        CompiledPolicy c = compile(grant("\"alice@\"", "\"10.0.0.0/24\""), ALICE, router);
        assertThat(c.hasVia()).isFalse();
        assertThat(c.viaRoutes(ALICE, router)).isEqualTo(ViaRoutes.NONE);
    }

    /**
     * Crossed steering (Tailscale's via-grant-v29): group A reaches 10.44.0.0/16 through router A only, group B through
     * router B only, both routers serving it. The rule is on the router a group goes through, the route on that peer only
     * in the group's netmap, whichever router is the HA primary.
     */
    @Test
    void crossedSteeringSendsEachGroupToItsRouter() throws PolicyException {
        TailnetNode a = routes(node(5, null, "tag:a"), "10.44.0.0/16"), b = routes(node(6, null, "tag:b"), "10.44.0.0/16");
        TailnetNode ga = node(7, null, "tag:ga"), gb = node(8, null, "tag:gb");
        CompiledPolicy c = compile(via("\"tag:ga\"", "\"10.44.0.0/16\"", "\"tag:a\"") + ","
                + via("\"tag:gb\"", "\"10.44.0.0/16\"", "\"tag:b\""), a, b, ga, gb);
        assertThat(text(c.filterFor(a))).containsExactly("src=[100.64.0.7, fd7a:115c:a1e0::7] dst=[10.44.0.0/16:*]");
        assertThat(text(c.filterFor(b))).containsExactly("src=[100.64.0.8, fd7a:115c:a1e0::8] dst=[10.44.0.0/16:*]");
        assertThat(c.filterFor(ga)).isEmpty();
        assertThat(c.canSee(ga, a)).isTrue();
        assertThat(c.canSee(ga, b)).isFalse();
        assertThat(c.canSee(gb, b)).isTrue();
        assertThat(c.canSee(gb, a)).isFalse();
        // a is the HA primary (served by it only), b a standby: b's route still reaches group B, a's not.
        List<IpPrefix> route = p("10.44.0.0/16");
        assertThat(PeerRoutes.of(ga, a, route, List.of(), c)).containsExactlyElementsOf(route);
        assertThat(PeerRoutes.of(gb, a, route, List.of(), c)).isEmpty();
        assertThat(PeerRoutes.of(gb, b, List.of(), List.of(), c)).containsExactlyElementsOf(route);
        assertThat(PeerRoutes.of(ga, b, List.of(), List.of(), c)).isEmpty();
        // The routers: a co-router still sees the primary's route (to know who is primary).
        assertThat(PeerRoutes.of(b, a, route, route, c)).containsExactlyElementsOf(route);
    }

    /** headscale's RoutesForPeer when a regular grant covers the route too: only the HA primary serves it. */
    @Test
    void aRegularGrantOnTheSameRouteLeavesItToThePrimary() throws PolicyException {
        TailnetNode a = routes(node(5, null, "tag:a"), "10.44.0.0/16"), b = routes(node(6, null, "tag:a"), "10.44.0.0/16");
        CompiledPolicy c = compile(via("\"alice@\"", "\"10.44.0.0/16\"", "\"tag:a\"") + "," + grant("\"alice@\"", "\"10.44.0.0/16\""),
                ALICE, a, b);
        List<IpPrefix> route = p("10.44.0.0/16");
        // b is the HA primary here (a is the via group's choice): with the regular grant, b serves it and a does not.
        assertThat(PeerRoutes.of(ALICE, b, route, List.of(), c)).containsExactlyElementsOf(route);
        assertThat(PeerRoutes.of(ALICE, a, List.of(), List.of(), c)).isEmpty();
    }

    /** Exit nodes: autogroup:internet via one tag; the other exit node keeps its routes out of the viewer's map. */
    @Test
    void internetViaATagPicksTheExitNode() throws PolicyException {
        TailnetNode exit = routes(node(8, null, "tag:exit"), "0.0.0.0/0", "::/0");
        TailnetNode other = routes(node(9, null, "tag:other"), "0.0.0.0/0", "::/0");
        CompiledPolicy c = compile(via("\"alice@\"", "\"autogroup:internet\"", "\"tag:exit\""), ALICE, exit, other);
        List<IpPrefix> exits = p("0.0.0.0/0", "::/0");
        assertThat(PeerRoutes.of(ALICE, exit, exits, List.of(), c)).containsExactlyInAnyOrderElementsOf(exits);
        assertThat(PeerRoutes.of(ALICE, other, exits, List.of(), c)).isEmpty();
        assertThat(c.canSee(ALICE, exit)).isTrue();
        assertThat(c.canSee(ALICE, other)).isFalse();
        assertThat(c.filterFor(other)).isEmpty();
        assertThat(c.filterFor(exit)).hasSize(1);
        assertThat(c.filterFor(exit).getFirst().dstPorts()).extracting(d -> d.ip()).contains("8.0.0.0/7").doesNotContain("10.0.0.0/8");
    }

    /** Policy tests read the rules everyone gets, as headscale's: a via grant alone does not pass an accept test. */
    @Test
    void policyTestsDoNotCountViaRules() throws PolicyException {
        TailnetNode router = routes(node(5, null, "tag:router"), "10.0.0.0/24");
        String policy = "{" + OWNERS + "\"grants\":[" + via("\"alice@\"", "\"10.0.0.0/24\"", "\"tag:router\"") + "%s],"
                + "\"tests\":[{\"src\":\"alice@\",\"accept\":[\"10.0.0.1:22\"]}]}";
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PolicyParser.parse(policy.formatted("")).check(List.of(ALICE, router), USERS))
                .isInstanceOf(PolicyException.class).hasMessageContaining("expected ALLOWED, got DENIED");
        PolicyParser.parse(policy.formatted("," + grant("\"alice@\"", "\"10.0.0.0/24\""))).check(List.of(ALICE, router), USERS);
    }

    /** A via grant with app only makes no rule (nothing to filter) but the router is still a peer. */
    @Test
    void appOnlyViaMakesNoRuleButAPeer() throws PolicyException {
        TailnetNode router = routes(node(5, null, "tag:router"), "10.0.0.0/24");
        CompiledPolicy c = compile("{\"src\":[\"alice@\"],\"dst\":[\"10.0.0.0/24\"],\"app\":{\"example.com/cap/x\":[{}]},\"via\":[\"tag:router\"]}",
                ALICE, BOB, router);
        assertThat(c.filterFor(router)).isEmpty();
        assertThat(c.canSee(ALICE, router)).isTrue();
        assertThat(c.canSee(BOB, router)).isFalse();
        assertThat(PeerRoutes.of(ALICE, router, p("10.0.0.0/24"), List.of(), c)).containsExactly(IpPrefix.parse("10.0.0.0/24"));
    }
}
