package dev.lattice.control.policy;

import static dev.lattice.control.policy.Fixtures.node;
import static dev.lattice.control.policy.Fixtures.routes;
import static dev.lattice.control.policy.Fixtures.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Grants with {@code app} (application capabilities): each node's filter gets CapGrant rules shaped as Tailscale's
 * control plane sends them (the captured results headscale v0.29.2 tests against, grant-a*..v*), compared here as
 * the JSON on the wire.
 */
class AppGrantsTest {
    static final List<User> USERS = List.of(user(1, "alice"), user(2, "bob"));

    // alice's laptop (1) and phone (2), her tagged server (3), bob's laptop (4), a subnet router (5), tag:prod (6),
    // tag:client (7), an exit node (8).
    static final TailnetNode LAPTOP = node(1, 1L), PHONE = node(2, 1L), SERVER = node(3, 1L, "tag:server"), BOB = node(4, 2L);
    static final TailnetNode ROUTER = routes(node(5, null, "tag:router"), "10.33.0.0/16");
    static final TailnetNode PROD = node(6, null, "tag:prod"), CLIENT = node(7, null, "tag:client");
    static final TailnetNode EXIT = routes(node(8, null, "tag:exit"), "0.0.0.0/0", "::/0");
    static final List<TailnetNode> NODES = List.of(LAPTOP, PHONE, SERVER, BOB, ROUTER, PROD, CLIENT, EXIT);
    static final String DEFS = """
            "groups": {"group:admins": ["alice@"], "group:empty": []},
            "hosts": {"webserver": "100.108.74.26"},
            "tagOwners": {"tag:server": ["alice@"], "tag:router": ["alice@"], "tag:prod": ["alice@"], "tag:client": ["alice@"],
                          "tag:exit": ["alice@"]},
            """;

    /** What * sources send as: the tailnet's ranges, then the approved subnets. */
    static final String WILD = "\"100.64.0.0-100.115.91.255\",\"100.115.94.0-100.127.255.255\",\"fd7a:115c:a1e0::/48\",\"10.33.0.0/16\"";
    static final String MEMBERS = "\"100.64.0.1-100.64.0.2\",\"100.64.0.4\",\"fd7a:115c:a1e0::1-fd7a:115c:a1e0::2\",\"fd7a:115c:a1e0::4\"";
    static final String TEST_CAP = "{\"example.com/cap/test\":[{}]}";

    static CompiledPolicy compile(String grants) throws PolicyException {
        return compile(grants, NODES);
    }

    static CompiledPolicy compile(String grants, List<TailnetNode> nodes) throws PolicyException {
        return PolicyCompiler.compile(PolicyParser.parse("{" + DEFS + "\"grants\": " + grants + "}"), nodes, USERS);
    }

    /** The node's filter as the JSON of each rule. */
    static List<String> wire(List<FilterRule> rules) {
        List<String> out = new ArrayList<>();
        for (FilterRule r : rules) out.add(Tailcfg.json().writeValueAsString(r));
        return out;
    }

    /** Node n's own addresses as CapGrant destinations. */
    static String own(int n) {
        return "\"100.64.0." + n + "/32\",\"fd7a:115c:a1e0::" + Integer.toHexString(n) + "/128\"";
    }

    static String cap(String src, String dsts, String capMap) {
        return "{\"SrcIPs\":[" + src + "],\"CapGrant\":[{\"Dsts\":[" + dsts + "],\"CapMap\":" + capMap + "}]}";
    }

    static String ips(int n) {
        return "\"100.64.0." + n + "\",\"fd7a:115c:a1e0::" + Integer.toHexString(n) + "\"";
    }

    /** name, grants, node, its filter on the wire (rule by rule). */
    static Stream<Arguments> filters() {
        String basic = "{\"example.com/cap/basic\":[{}]}";
        String drive = "{\"tailscale.com/cap/drive\":[{\"access\":\"rw\",\"shares\":[\"*\"]}]}";
        String sharer = "{\"tailscale.com/cap/drive-sharer\":null}";
        return Stream.of(
                // grant-a1: * to *: every node, its own addresses only (a router's subnet is not in *'s ranges).
                Arguments.of("* to *", "[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":" + basic + "}]", SERVER,
                        List.of(cap(WILD, own(3), basic))),
                Arguments.of("* to *, on the subnet router", "[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":" + basic + "}]", ROUTER,
                        List.of(cap(WILD, own(5), basic))),
                Arguments.of("* to *, on the exit node", "[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":" + basic + "}]", EXIT,
                        List.of(cap(WILD, own(8), basic))),
                // grant-d1..d7: source kinds to a tag.
                Arguments.of("autogroup:member to a tag", "[{\"src\":[\"autogroup:member\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "}]",
                        SERVER, List.of(cap(MEMBERS, own(3), TEST_CAP))),
                Arguments.of("the sources get nothing without a companion", "[{\"src\":[\"autogroup:member\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "}]",
                        LAPTOP, List.of()),
                Arguments.of("autogroup:tagged to a tag", "[{\"src\":[\"autogroup:tagged\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "}]",
                        SERVER, List.of(cap("\"100.64.0.3\",\"100.64.0.5-100.64.0.8\",\"fd7a:115c:a1e0::3\",\"fd7a:115c:a1e0::5-fd7a:115c:a1e0::8\"",
                                own(3), TEST_CAP))),
                Arguments.of("group to a tag", "[{\"src\":[\"group:admins\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "}]",
                        SERVER, List.of(cap("\"100.64.0.1-100.64.0.2\",\"fd7a:115c:a1e0::1-fd7a:115c:a1e0::2\"", own(3), TEST_CAP))),
                Arguments.of("user to a tag", "[{\"src\":[\"bob@\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "}]",
                        SERVER, List.of(cap(ips(4), own(3), TEST_CAP))),
                Arguments.of("tag to a tag", "[{\"src\":[\"tag:prod\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "}]",
                        SERVER, List.of(cap(ips(6), own(3), TEST_CAP))),
                Arguments.of("address to a tag", "[{\"src\":[\"100.90.199.68\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "}]",
                        SERVER, List.of(cap("\"100.90.199.68\"", own(3), TEST_CAP))),
                // grant-e2, e4, e6, e7: destination kinds.
                Arguments.of("two tags: each tagged node gets its own", "[{\"src\":[\"*\"],\"dst\":[\"tag:server\",\"tag:prod\"],\"app\":" + TEST_CAP + "}]",
                        PROD, List.of(cap(WILD, own(6), TEST_CAP))),
                Arguments.of("autogroup:member as destination", "[{\"src\":[\"*\"],\"dst\":[\"autogroup:member\"],\"app\":" + TEST_CAP + "}]",
                        BOB, List.of(cap(WILD, own(4), TEST_CAP))),
                Arguments.of("autogroup:member as destination leaves tagged nodes out", "[{\"src\":[\"*\"],\"dst\":[\"autogroup:member\"],\"app\":" + TEST_CAP + "}]",
                        SERVER, List.of()),
                Arguments.of("group as destination", "[{\"src\":[\"*\"],\"dst\":[\"group:admins\"],\"app\":" + TEST_CAP + "}]",
                        PHONE, List.of(cap(WILD, own(2), TEST_CAP))),
                // grant-e8: an address no node has reaches nobody.
                Arguments.of("a host that is no node", "[{\"src\":[\"*\"],\"dst\":[\"webserver\"],\"app\":" + TEST_CAP + "}]", SERVER, List.of()),
                // reduceCapGrantRule: a subnet router keeps a destination overlapping its route as written.
                Arguments.of("subnet destination on its router", "[{\"src\":[\"bob@\"],\"dst\":[\"10.33.1.0/24\",\"10.0.0.0/8\"],\"app\":" + TEST_CAP + "}]",
                        ROUTER, List.of("{\"SrcIPs\":[" + ips(4) + "],\"CapGrant\":[{\"Dsts\":[\"10.33.1.0/24\"],\"CapMap\":" + TEST_CAP
                                + "},{\"Dsts\":[\"10.0.0.0/8\"],\"CapMap\":" + TEST_CAP + "}]}")),
                Arguments.of("subnet destination elsewhere", "[{\"src\":[\"bob@\"],\"dst\":[\"10.33.1.0/24\"],\"app\":" + TEST_CAP + "}]",
                        SERVER, List.of()),
                // grant-b2, c4, c5: values reach the node as written, capabilities sorted by name.
                Arguments.of("several values, several capabilities, nested values",
                        "[{\"src\":[\"bob@\"],\"dst\":[\"tag:server\"],\"app\":{\"example.com/cap/two\":[{\"level\":\"high\",\"n\":[1,2.5,-3]}],"
                                + "\"example.com/cap/one\":[{\"impersonate\":{\"groups\":[\"readers\"]}},{\"x\":true,\"y\":null},\"s\"]}}]",
                        SERVER, List.of(cap(ips(4), own(3), "{\"example.com/cap/one\":[{\"impersonate\":{\"groups\":[\"readers\"]}},{\"x\":true,\"y\":null},\"s\"],"
                                + "\"example.com/cap/two\":[{\"level\":\"high\",\"n\":[1,2.5,-3]}]}"))),
                Arguments.of("an empty value list stays empty", "[{\"src\":[\"bob@\"],\"dst\":[\"tag:server\"],\"app\":{\"example.com/cap/test\":[]}}]",
                        SERVER, List.of(cap(ips(4), own(3), "{\"example.com/cap/test\":[]}"))),
                // grant-h6: sources that resolve to nothing still send the rule, with empty SrcIPs.
                Arguments.of("empty group source", "[{\"src\":[\"group:empty\"],\"dst\":[\"*\"],\"app\":" + TEST_CAP + "}]",
                        BOB, List.of(cap("", own(4), TEST_CAP))),
                // grant-h4, h5.
                Arguments.of("src []", "[{\"src\":[],\"dst\":[\"*\"],\"app\":" + TEST_CAP + "}]", BOB, List.of()),
                Arguments.of("dst []", "[{\"src\":[\"*\"],\"dst\":[],\"app\":" + TEST_CAP + "}]", BOB, List.of()),
                // grant-f1, f2: ip and app in one grant: the ports rule, then the CapGrant rule.
                Arguments.of("ip and app in one grant",
                        "[{\"src\":[\"*\"],\"dst\":[\"tag:server\"],\"ip\":[\"tcp:80\",\"tcp:443\"],\"app\":" + TEST_CAP + "}]", SERVER,
                        // Each ip entry is a rule of its own, merged (headscale's order; the capture sorts DstPorts).
                        List.of("{\"SrcIPs\":[" + WILD + "],\"DstPorts\":[{\"IP\":\"100.64.0.3\",\"Ports\":{\"First\":80,\"Last\":80}},"
                                        + "{\"IP\":\"fd7a:115c:a1e0::3\",\"Ports\":{\"First\":80,\"Last\":80}},{\"IP\":\"100.64.0.3\",\"Ports\":{\"First\":443,\"Last\":443}},"
                                        + "{\"IP\":\"fd7a:115c:a1e0::3\",\"Ports\":{\"First\":443,\"Last\":443}}],\"IPProto\":[6]}",
                                cap(WILD, own(3), TEST_CAP))),
                // grant-g4: rules keep grant order; a CapGrant rule never merges with a ports rule of the same sources.
                Arguments.of("an app grant, then an ip grant with the same sources",
                        "[{\"src\":[\"*\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "},{\"src\":[\"*\"],\"dst\":[\"tag:server\"],\"ip\":[\"tcp:80\"]}]",
                        SERVER, List.of(cap(WILD, own(3), TEST_CAP),
                                "{\"SrcIPs\":[" + WILD + "],\"DstPorts\":[{\"IP\":\"100.64.0.3\",\"Ports\":{\"First\":80,\"Last\":80}},"
                                        + "{\"IP\":\"fd7a:115c:a1e0::3\",\"Ports\":{\"First\":80,\"Last\":80}}],\"IPProto\":[6]}")),
                // headscale's mergeFilterRules: a later ports rule joins the first with its sources, across a CapGrant rule.
                Arguments.of("ports rules merge around a CapGrant rule",
                        "[{\"src\":[\"bob@\"],\"dst\":[\"tag:server\"],\"ip\":[\"tcp:80\"]},{\"src\":[\"tag:client\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "},"
                                + "{\"src\":[\"bob@\"],\"dst\":[\"tag:server\"],\"ip\":[\"tcp:443\"]}]",
                        SERVER, List.of("{\"SrcIPs\":[" + ips(4) + "],\"DstPorts\":[{\"IP\":\"100.64.0.3\",\"Ports\":{\"First\":80,\"Last\":80}},"
                                        + "{\"IP\":\"fd7a:115c:a1e0::3\",\"Ports\":{\"First\":80,\"Last\":80}},{\"IP\":\"100.64.0.3\",\"Ports\":{\"First\":443,\"Last\":443}},"
                                        + "{\"IP\":\"fd7a:115c:a1e0::3\",\"Ports\":{\"First\":443,\"Last\":443}}],\"IPProto\":[6]}",
                                cap(ips(7), own(3), TEST_CAP))),
                // grant-g6: two grants to the same node, two rules.
                Arguments.of("two app grants reaching one node", "[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":" + TEST_CAP + "},"
                                + "{\"src\":[\"*\"],\"dst\":[\"tag:server\"],\"app\":{\"example.com/cap/test\":[{\"special\":true}]}}]",
                        SERVER, List.of(cap(WILD, own(3), TEST_CAP), cap(WILD, own(3), "{\"example.com/cap/test\":[{\"special\":true}]}"))),
                // grant-f4: drive with ports: ports rule, CapGrant rule, then the reversed drive-sharer companion.
                Arguments.of("drive to * with a port: the companion goes back from * to the sources",
                        "[{\"src\":[\"*\"],\"dst\":[\"*\"],\"ip\":[\"tcp:443\"],\"app\":{\"tailscale.com/cap/drive\":[{\"access\":\"rw\",\"shares\":[\"*\"]}],"
                                + "\"example.com/cap/extra\":[{\"mode\":\"full\"}]}}]", BOB,
                        List.of("{\"SrcIPs\":[" + WILD + "],\"DstPorts\":[{\"IP\":\"*\",\"Ports\":{\"First\":443,\"Last\":443}}],\"IPProto\":[6]}",
                                cap(WILD, own(4), "{\"example.com/cap/extra\":[{\"mode\":\"full\"}],\"tailscale.com/cap/drive\":[{\"access\":\"rw\",\"shares\":[\"*\"]}]}"),
                                cap(WILD, own(4), sharer))),
                // grant-a4: relay and its relay-target companion.
                Arguments.of("relay", "[{\"src\":[\"*\"],\"dst\":[\"*\"],\"app\":{\"tailscale.com/cap/relay\":[{}]}}]", CLIENT,
                        List.of(cap(WILD, own(7), "{\"tailscale.com/cap/relay\":[{}]}"), cap(WILD, own(7), "{\"tailscale.com/cap/relay-target\":null}"))),
                // grant-v19: drive from members to the exit node: the exit node gets drive, each member the drive-sharer companion.
                Arguments.of("drive: the destination gets the capability", "[{\"src\":[\"autogroup:member\"],\"dst\":[\"tag:exit\"],\"app\":" + drive + "}]",
                        EXIT, List.of(cap(MEMBERS, own(8), drive))),
                Arguments.of("drive: each source gets the companion", "[{\"src\":[\"autogroup:member\"],\"dst\":[\"tag:exit\"],\"app\":" + drive + "}]",
                        PHONE, List.of(cap(ips(8), own(2), sharer))),
                Arguments.of("drive: others get nothing", "[{\"src\":[\"autogroup:member\"],\"dst\":[\"tag:exit\"],\"app\":" + drive + "}]",
                        SERVER, List.of()),
                // grant-k27, a6, k28: autogroup:self: from the user's devices among the sources, to this node.
                Arguments.of("autogroup:self", "[{\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self\"],\"app\":" + TEST_CAP + "}]",
                        PHONE, List.of(cap("\"100.64.0.1-100.64.0.2\",\"fd7a:115c:a1e0::1-fd7a:115c:a1e0::2\"", own(2), TEST_CAP))),
                Arguments.of("autogroup:self, a user with one device", "[{\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self\"],\"app\":" + TEST_CAP + "}]",
                        BOB, List.of(cap(ips(4), own(4), TEST_CAP))),
                Arguments.of("autogroup:self never reaches a tagged node", "[{\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self\"],\"app\":" + TEST_CAP + "}]",
                        SERVER, List.of()),
                Arguments.of("autogroup:self with ip and drive", "[{\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self\"],\"ip\":[\"*\"],\"app\":" + drive + "}]",
                        LAPTOP, List.of("{\"SrcIPs\":[\"100.64.0.1-100.64.0.2\",\"fd7a:115c:a1e0::1-fd7a:115c:a1e0::2\"],\"DstPorts\":["
                                        + "{\"IP\":\"100.64.0.1\",\"Ports\":{\"First\":0,\"Last\":65535}},{\"IP\":\"fd7a:115c:a1e0::1\",\"Ports\":{\"First\":0,\"Last\":65535}}]}",
                                cap("\"100.64.0.1-100.64.0.2\",\"fd7a:115c:a1e0::1-fd7a:115c:a1e0::2\"", own(1), drive),
                                cap(ips(1) + "," + ips(2), own(1), sharer))),
                Arguments.of("autogroup:self and another destination: the other first",
                        "[{\"src\":[\"bob@\"],\"dst\":[\"autogroup:self\",\"tag:server\"],\"app\":" + TEST_CAP + "}]", BOB,
                        List.of(cap(ips(4), own(4), TEST_CAP))),
                // grant-k3: grants come before ACLs.
                Arguments.of("with an ACL", "[{\"src\":[\"*\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "}], "
                                + "\"acls\": [{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}]", SERVER,
                        List.of(cap(WILD, own(3), TEST_CAP), "{\"SrcIPs\":[" + WILD + "],\"DstPorts\":[{\"IP\":\"*\",\"Ports\":{\"First\":0,\"Last\":65535}}]}")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("filters")
    void filterPerNode(String name, String grants, TailnetNode node, List<String> expected) throws Exception {
        assertThat(wire(compile(grants).filterFor(node))).isEqualTo(expected);
    }

    @Test
    void aNodeInTwoDestinationsGetsACapGrantForEach() throws Exception {
        TailnetNode both = node(9, null, "tag:server", "tag:prod");
        CompiledPolicy p = compile("[{\"src\":[\"bob@\"],\"dst\":[\"tag:server\",\"tag:prod\"],\"app\":" + TEST_CAP + "}]", List.of(BOB, both));
        assertThat(wire(p.filterFor(both))).containsExactly("{\"SrcIPs\":[" + ips(4) + "],\"CapGrant\":[{\"Dsts\":[" + own(9) + "],\"CapMap\":"
                + TEST_CAP + "},{\"Dsts\":[" + own(9) + "],\"CapMap\":" + TEST_CAP + "}]}");
    }

    @Test
    void broadPrefixesAreNarrowedToTheNodeKeptWholeOverASubnetAndSortedOnce() throws Exception {
        // The companion's destinations are all the sources' prefixes in one CapGrant: 100.64.0.0/10 holds the
        // router's address, 10.0.0.0/8 overlaps both its routes (kept as written, once), sorted as Go sorts prefixes.
        TailnetNode router = routes(node(5, null, "tag:router"), "10.33.0.0/16", "10.44.0.0/16");
        CompiledPolicy p = compile("[{\"src\":[\"fd7a:115c:a1e0::/48\",\"100.64.0.0/10\",\"10.0.0.0/8\"],\"dst\":[\"tag:server\"],"
                + "\"app\":{\"tailscale.com/cap/drive\":[]}}]", List.of(SERVER, router));
        assertThat(wire(p.filterFor(router))).containsExactly(
                cap(ips(3), "\"10.0.0.0/8\",\"100.64.0.5/32\",\"fd7a:115c:a1e0::5/128\"", "{\"tailscale.com/cap/drive-sharer\":null}"));
        assertThat(CompiledPolicyImpl.comparePrefixes(IpPrefix.parse("10.0.0.0/8"), IpPrefix.parse("9.0.0.0/32"))).isPositive();
        assertThat(CompiledPolicyImpl.comparePrefixes(IpPrefix.parse("10.0.0.0/8"), IpPrefix.parse("10.0.0.0/16"))).isNegative();
        assertThat(CompiledPolicyImpl.comparePrefixes(IpPrefix.parse("255.0.0.0/8"), IpPrefix.parse("::/0"))).isNegative();
    }

    /** grant-d1: an app-only grant makes the sources and destinations peers, as headscale's matchers count CapGrant Dsts. */
    @Test
    void appOnlyGrantsMakePeers() throws Exception {
        CompiledPolicy p = compile("[{\"src\":[\"autogroup:member\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "}]");
        assertThat(p.canSee(LAPTOP, SERVER)).isTrue();
        assertThat(p.canSee(SERVER, BOB)).isTrue();
        assertThat(p.canSee(LAPTOP, BOB)).isFalse();
        assertThat(p.canSee(PROD, SERVER)).isFalse();
        assertThat(p.visiblePeers(SERVER, NODES)).isEqualTo(bits(1, 2, 4));
        assertThat(p.visiblePeers(BOB, NODES)).isEqualTo(bits(3));
        assertThat(p.visiblePeers(PROD, NODES)).isEqualTo(new BitSet());
    }

    @Test
    void grantsNamingNoNodeMakeNoPeers() throws Exception {
        for (String g : List.of("[{\"src\":[\"*\"],\"dst\":[\"webserver\"],\"app\":" + TEST_CAP + "}]",
                "[{\"src\":[\"group:empty\"],\"dst\":[\"*\"],\"app\":" + TEST_CAP + "}]")) {
            CompiledPolicy p = compile(g);
            for (TailnetNode n : NODES) assertThat(p.visiblePeers(n, NODES)).as(g + " for " + n.hostname()).isEqualTo(new BitSet());
        }
    }

    @Test
    void selfAppGrantsMakeAUsersDevicesPeers() throws Exception {
        CompiledPolicy p = compile("[{\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self\"],\"app\":" + TEST_CAP + "}]");
        assertThat(p.visiblePeers(LAPTOP, NODES)).isEqualTo(bits(2));
        assertThat(p.visiblePeers(BOB, NODES)).isEqualTo(new BitSet());
    }

    /** A subnet in an app grant's destinations: the sources see its router and get the route (headscale's CanAccessRoute). */
    @Test
    void subnetDestinationsShowTheRouterAndItsRoute() throws Exception {
        CompiledPolicy p = compile("[{\"src\":[\"bob@\"],\"dst\":[\"10.33.1.0/24\"],\"app\":" + TEST_CAP + "}]");
        assertThat(p.canSee(BOB, ROUTER)).isTrue();
        assertThat(p.canSee(LAPTOP, ROUTER)).isFalse();
        List<IpPrefix> route = List.of(IpPrefix.parse("10.33.0.0/16"));
        assertThat(p.reduceRoutes(BOB, route)).isEqualTo(route);
        assertThat(p.reduceRoutes(LAPTOP, route)).isEmpty();
    }

    /** Policy tests are about packets: an app grant allows none. */
    @Test
    void appGrantsAllowNoPackets() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> compile("[{\"src\":[\"bob@\"],\"dst\":[\"tag:server\"],\"app\":" + TEST_CAP + "}], "
                + "\"tests\": [{\"src\": \"bob@\", \"accept\": [\"tag:server:80\"]}]")).isInstanceOf(PolicyException.class)
                .hasMessageContaining("expected ALLOWED, got DENIED");
    }

    static BitSet bits(int... ids) {
        BitSet b = new BitSet();
        for (int i : ids) b.set(i);
        return b;
    }
}
