package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.admin.AdminApi;
import dev.lattice.control.admin.AdminException;
import dev.lattice.control.cli.ControlCli;
import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.RegisterResponse;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The policy wired into the server, against a stand-in engine ({@link FakePolicyEngine}): per-node filters and
 * visibility in real map streams, file reloads (and a broken file that is refused), database mode through the admin
 * API and the CLI, tags as identity at registration and by the admin, and routes auto-approved into AllowedIPs.
 */
@Timeout(60)
class PolicyIntegrationTest {
    @TempDir
    Path dir;
    ControlServer server;
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    final FakePolicyEngine engine = new FakePolicyEngine();
    User alice;

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
    }

    Path policyFile() {
        return dir.resolve("policy.txt");
    }

    void startFileMode(String policy) throws Exception {
        Files.writeString(policyFile(), policy);
        start("policy:\n  mode: file\n  path: " + policyFile() + "\n");
    }

    void start(String yaml) throws Exception {
        server = ControlServer.start(TestServer.config(dir, yaml), Clock.systemUTC(), engine);
        alice = server.store().users().create("alice", "Alice", "alice@example.com");
        server.tailnet().announceFull();
    }

    String key(Long user, String... tags) {
        return server.store().preAuthKeys().create(user, true, false, List.of(tags), Instant.now().plusSeconds(3600)).fullKey();
    }

    TestMachine joined(String name, String key) throws Exception {
        return join(new TestMachine(group, server.config().serverUrl(), name), key);
    }

    /** Registers {@code m} with {@code key} and opens its map stream. */
    static TestMachine join(TestMachine m, String key) throws Exception {
        RegisterResponse r = m.register(key);
        assertThat(r.error()).as("register %s", m.hostname).isNull();
        m.openStream();
        return m;
    }

    /** As {@link #join}, for a machine that advertises {@code route}. */
    static TestMachine joinAsRouter(TestMachine m, String key, IpPrefix route) throws Exception {
        m.hostinfoExtra = h -> h.withRoutableIps(List.of(route));
        return join(m, key);
    }

    TailnetNode node(String name) {
        return server.tailnet().nodes().stream().filter(n -> n.hostname().equals(name)).findFirst().orElseThrow();
    }

    static String ip(TailnetNode n) {
        return n.ipv4().getHostAddress();
    }

    static List<String> sources(MapResponse r) {
        return r.packetFilter() == null ? List.of() : r.packetFilter().stream().flatMap(f -> f.srcIps().stream()).toList();
    }

    /** Atomic replace, as editors and config management do. */
    void writePolicy(String text) throws Exception {
        Path tmp = dir.resolve("policy.txt.tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, policyFile(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void fileModeFiltersAndHidesPeersAndAnEditedFileReachesEveryNodeWithinASecond() throws Exception {
        startFileMode("owner alice tag:a\nowner alice tag:b\naccept tag:a tag:b\n");
        try (TestMachine a = joined("a", key(alice.id(), "tag:a"));
             TestMachine b = joined("b", key(alice.id(), "tag:b"));
             TestMachine c = joined("c", key(alice.id()))) {
            String ipA = ip(node("a"));
            // b accepts a; a accepts nobody; they see each other; c (alice's, untagged) sees nobody.
            TestMachine.View bm = b.awaitView(Duration.ofSeconds(5), v -> v.hasPeer("a") && !v.sources().isEmpty());
            assertThat(bm.sources()).containsExactly(ipA);
            assertThat(bm.hasPeer("c")).isFalse();
            TestMachine.View am = a.awaitView(Duration.ofSeconds(5), v -> v.hasPeer("b"));
            assertThat(am.filter).isEmpty();
            TestMachine.View cm = c.awaitView(Duration.ofSeconds(5), v -> v.self != null);
            assertThat(cm.peers).isEmpty();
            assertThat(cm.filter).isEmpty();
            assertThat(node("a").userId()).as("a tagged node belongs to the tailnet").isNull();

            long t0 = System.nanoTime();
            writePolicy("owner alice tag:a\nowner alice tag:b\naccept * *\n");
            TestMachine.View opened = c.awaitView(Duration.ofSeconds(5), v -> v.peers.size() == 2 && !v.sources().isEmpty());
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            System.out.println("[policy] edited policy file reached node c in " + ms + " ms");
            assertThat(ms).isLessThan(1500);
            assertThat(opened.sources()).contains(ipA, ip(node("b")));

            // A broken file is refused: the previous policy stays, nobody gets a new map.
            String before = server.policy().current().text();
            writePolicy("owner alice tag:a\nerror 2 7 unknown group group:nope\n");
            Thread.sleep(600);
            assertThat(server.policy().current().text()).isEqualTo(before);
            assertThat(server.policy().packetPolicy().canSee(node("c"), node("a"))).isTrue();

            // SIGHUP re-reads the file (here: fixed again).
            Files.writeString(policyFile(), "owner alice tag:a\nowner alice tag:b\naccept tag:a tag:b\n");
            sun.misc.Signal.raise(new sun.misc.Signal("HUP"));
            c.awaitView(Duration.ofSeconds(5), v -> v.peers.isEmpty() && v.filter.isEmpty());
            assertThat(server.policy().current().text()).contains("accept tag:a tag:b");
        }
    }

    /**
     * A Kubernetes ConfigMap volume: {@code policy.txt -> ..data/policy.txt}, {@code ..data -> ..<timestamp>}. The
     * kubelet updates it by writing a new timestamped directory and renaming a {@code ..data_tmp} link over
     * {@code ..data}; no event names the policy file itself.
     */
    @Test
    void aConfigMapUpdateBySymlinkSwapIsSeen() throws Exception {
        Files.createDirectories(dir.resolve("..2026_12_05_01"));
        Files.writeString(dir.resolve("..2026_12_05_01/policy.txt"), "owner alice tag:a\nowner alice tag:b\n");
        Files.createSymbolicLink(dir.resolve("..data"), Path.of("..2026_12_05_01"));
        Files.createSymbolicLink(policyFile(), Path.of("..data/policy.txt"));
        start("policy:\n  mode: file\n  path: " + policyFile() + "\n");
        assertThat(server.policy().current().text()).doesNotContain("accept");

        Files.createDirectories(dir.resolve("..2026_12_05_02"));
        Files.writeString(dir.resolve("..2026_12_05_02/policy.txt"), "owner alice tag:a\nowner alice tag:b\naccept * *\n");
        Files.createSymbolicLink(dir.resolve("..data_tmp"), Path.of("..2026_12_05_02"));
        Files.move(dir.resolve("..data_tmp"), dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
        Files.delete(dir.resolve("..2026_12_05_01/policy.txt"));
        Files.delete(dir.resolve("..2026_12_05_01"));

        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!server.policy().current().text().contains("accept * *") && System.nanoTime() < end) Thread.sleep(50);
        assertThat(server.policy().current().text()).contains("accept * *");
    }

    @Test
    void aPolicyChangeSendsEachSessionADeltaOfWhatChangedForItAndNothingToTheOthers() throws Exception {
        startFileMode("owner alice tag:a\nowner alice tag:b\nowner alice tag:c\naccept tag:a tag:b\n");
        try (TestMachine a = joined("a", key(alice.id(), "tag:a"));
             TestMachine b = joined("b", key(alice.id(), "tag:b"));
             TestMachine c = joined("c", key(alice.id(), "tag:c"))) {
            b.awaitView(Duration.ofSeconds(5), v -> v.hasPeer("a") && !v.sources().isEmpty());
            a.awaitView(Duration.ofSeconds(5), v -> v.hasPeer("b"));
            c.awaitView(Duration.ofSeconds(5), v -> v.self != null);
            Thread.sleep(300); // let the joins' updates drain
            a.received.clear();
            b.received.clear();
            c.received.clear();

            // c may now reach itself: only c's filter changes; nobody appears or goes.
            writePolicy("owner alice tag:a\nowner alice tag:b\nowner alice tag:c\naccept tag:a tag:b\naccept tag:c tag:c\n");
            MapResponse cm = c.await(Duration.ofSeconds(5), m -> m.packetFilter() != null);
            assertThat(cm.peers()).as("a delta, not a full map").isNull();
            assertThat(cm.peersChanged()).isNull();
            assertThat(cm.packetFilter().getFirst().srcIps()).containsExactly(ip(node("c")));
            Thread.sleep(300);
            assertThat(a.received).as("nothing changed for a").allMatch(m -> Boolean.TRUE.equals(m.keepAlive()));
            assertThat(b.received).as("nothing changed for b").allMatch(m -> Boolean.TRUE.equals(m.keepAlive()));

            // c may reach b: b gets c as a new peer and a new filter; c gets b as a peer; a gets nothing.
            writePolicy("owner alice tag:a\nowner alice tag:b\nowner alice tag:c\naccept tag:a tag:b\naccept tag:c tag:b\n");
            MapResponse bm = b.await(Duration.ofSeconds(5), m -> m.peersChanged() != null);
            assertThat(bm.peers()).isNull();
            assertThat(bm.peersChanged()).extracting(n -> n.name()).singleElement().asString().startsWith("c.");
            assertThat(bm.packetFilter()).isNotNull();
            c.awaitView(Duration.ofSeconds(5), v -> v.hasPeer("b") && v.filter.isEmpty());
            Thread.sleep(300);
            assertThat(a.received).as("still nothing for a").allMatch(m -> Boolean.TRUE.equals(m.keepAlive()));

            // Revoked again: c leaves b's netmap through PeersRemoved.
            writePolicy("owner alice tag:a\nowner alice tag:b\nowner alice tag:c\naccept tag:a tag:b\n");
            MapResponse gone = b.await(Duration.ofSeconds(5), m -> m.peersRemoved() != null);
            assertThat(gone.peersRemoved()).containsExactly(node("c").id());
            assertThat(b.view.sources()).containsExactly(ip(node("a")));
        }
    }

    @Test
    void aTagChangeByTheAdminFlipsAccessAndTagsAreCheckedAgainstTagOwners() throws Exception {
        startFileMode("owner alice tag:a\nowner alice tag:b\nowner tag:a tag:c\naccept tag:a tag:b\n");
        try (TestMachine b = joined("b", key(alice.id(), "tag:b"));
             TestMachine c = joined("c", key(alice.id()))) {
            b.awaitView(Duration.ofSeconds(5), v -> v.self != null && v.peers.isEmpty());
            AdminApi api = server.adminApi();
            long cId = node("c").id();
            assertThatThrownBy(() -> api.setTags(cId, List.of("tag:undefined")))
                    .isInstanceOf(AdminException.class)
                    .hasMessageContaining("requested tags [tag:undefined] are invalid or not permitted");

            long t0 = System.nanoTime();
            AdminApi.NodeInfo tagged = api.setTags(cId, List.of("tag:a"));
            TestMachine.View bm = b.awaitView(Duration.ofSeconds(5), v -> v.hasPeer("c") && !v.sources().isEmpty());
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            System.out.println("[policy] nodes tag reached node b in " + ms + " ms");
            assertThat(ms).isLessThan(1500);
            assertThat(bm.sources()).containsExactly(ip(node("c")));
            assertThat(tagged.user().name()).isEqualTo("tagged-devices");
            assertThat(tagged.node().userId()).isNull();
            assertThat(api.listNodes("alice")).extracting(i -> i.node().hostname()).doesNotContain("c");
        }

        // Registration: advertised tags and key tags must be owned by the key's user (or the key's tags).
        try (TestMachine m = new TestMachine(group, server.config().serverUrl(), "d")) {
            m.hostinfoExtra = h -> h.withRequestTags(List.of("tag:c", "tag:b"));
            RegisterResponse r = m.register(key(alice.id()));
            assertThat(r.error()).isEqualTo("requested tags [tag:c] are invalid or not permitted");
            assertThat(r.error()).as("checked before anything is stored").isNotNull();
            assertThat(server.tailnet().nodes()).extracting(TailnetNode::hostname).doesNotContain("d");
        }
        try (TestMachine m = new TestMachine(group, server.config().serverUrl(), "e")) {
            RegisterResponse r = m.register(key(alice.id(), "tag:c"));
            assertThat(r.error()).isEqualTo("requested tags [tag:c] are invalid or not permitted");
        }
        try (TestMachine m = new TestMachine(group, server.config().serverUrl(), "f")) {
            m.hostinfoExtra = h -> h.withRequestTags(List.of("tag:c"));
            RegisterResponse r = m.register(key(null, "tag:a")); // tag:a owns tag:c
            assertThat(r.error()).isNull();
            assertThat(r.login().loginName()).isEqualTo("tagged-devices");
            assertThat(node("f").tags()).containsExactly("tag:a", "tag:c");
            assertThat(node("f").expiry()).as("tagged nodes do not expire").isNull();
        }
        try (TestMachine m = new TestMachine(group, server.config().serverUrl(), "g")) {
            m.hostinfoExtra = h -> h.withRequestTags(List.of("tag:b"));
            assertThat(m.register(key(alice.id())).error()).isNull();
            assertThat(node("g").tags()).containsExactly("tag:b");
            assertThat(node("g").userId()).isNull();
        }
    }

    @Test
    void advertisedRoutesAreAutoApprovedAndOnlyApprovedOnesAreRouted() throws Exception {
        startFileMode("route 10.1.0.0/16\nexit\naccept * *\n");
        IpPrefix r1 = IpPrefix.parse("10.1.0.0/16"), r2 = IpPrefix.parse("10.2.0.0/16");
        try (TestMachine router = new TestMachine(group, server.config().serverUrl(), "router");
             TestMachine viewer = joined("viewer", key(alice.id()))) {
            router.hostinfoExtra = h -> h.withRoutableIps(List.of(r1, r2));
            assertThat(router.register(key(alice.id())).error()).isNull();
            assertThat(node("router").approvedRoutes()).containsExactly(r1);
            router.openStream();
            MapResponse vm = viewer.await(Duration.ofSeconds(5), m -> routerOf(m) != null && routerOf(m).allowedIps().contains(r1));
            assertThat(routerOf(vm).allowedIps()).doesNotContain(r2);

            // The router starts advertising an exit node: approved by the policy, sent in a map request.
            router.hostinfoExtra = h -> h.withRoutableIps(List.of(r1, r2, IpPrefix.parse("0.0.0.0/0"), IpPrefix.parse("::/0")));
            router.post("/machine/map", router.mapRequest().stream(false).omitPeers(true).build());
            assertThat(node("router").approvedRoutes()).contains(IpPrefix.parse("0.0.0.0/0"), IpPrefix.parse("::/0"))
                    .doesNotContain(r2);

            // A new policy approving r2 approves it on the node that already advertises it.
            writePolicy("route 10.1.0.0/16\nroute 10.2.0.0/16\naccept * *\n");
            viewer.await(Duration.ofSeconds(5), m -> routerOf(m) != null && routerOf(m).allowedIps().contains(r2));
        }
    }

    @Test
    void twoRoutersForOneSubnetFailOverWhenThePrimaryGoesOffline() throws Exception {
        startFileMode("route 10.1.0.0/16\naccept * *\n");
        IpPrefix lan = IpPrefix.parse("10.1.0.0/16");
        try (TestMachine r1 = new TestMachine(group, server.config().serverUrl(), "ra");
             TestMachine r2 = new TestMachine(group, server.config().serverUrl(), "rb");
             TestMachine viewer = joined("viewer", key(alice.id()))) {
            for (TestMachine r : List.of(r1, r2)) joinAsRouter(r, key(alice.id()), lan);
            TestMachine.View v = viewer.awaitView(Duration.ofSeconds(5), x -> x.hasPeer("ra") && x.hasPeer("rb")
                    && x.peer("ra").allowedIps().contains(lan));
            assertThat(v.peer("rb").allowedIps()).as("one primary per subnet").doesNotContain(lan);
            assertThat(v.peer("ra").primaryRoutes()).containsExactly(lan);

            r1.stream.close();
            viewer.awaitView(Duration.ofSeconds(5), x -> x.peer("rb") != null && x.peer("rb").allowedIps().contains(lan)
                    && !x.peer("ra").allowedIps().contains(lan));
        }
    }

    @Test
    void aStandbyRouterSeesThePrimaryForItsSubnetEvenWhereThePolicyGivesItNoUse() throws Exception {
        // Only alice's own devices may use the subnet; the tagged routers may not, but the standby must know the primary.
        startFileMode("owner alice tag:r\nroute 10.1.0.0/16\naccept * *\nuseroute user:alice 10.1.0.0/16\n");
        IpPrefix lan = IpPrefix.parse("10.1.0.0/16");
        try (TestMachine r1 = new TestMachine(group, server.config().serverUrl(), "ra");
             TestMachine r2 = new TestMachine(group, server.config().serverUrl(), "rb");
             TestMachine viewer = joined("viewer", key(alice.id()));
             TestMachine other = joined("other", key(alice.id(), "tag:r"))) {
            for (TestMachine r : List.of(r1, r2)) {
                joinAsRouter(r, key(alice.id(), "tag:r"), lan);
                Thread.sleep(200); // ra online first: the primary
            }
            viewer.awaitView(Duration.ofSeconds(5), x -> x.peer("ra") != null && x.peer("ra").allowedIps().contains(lan));
            r2.awaitView(Duration.ofSeconds(5), x -> x.peer("ra") != null && x.peer("ra").allowedIps().contains(lan));
            Thread.sleep(300);
            assertThat(other.view.peer("ra").allowedIps()).as("a tagged node that serves no subnet gets no use of it").doesNotContain(lan);
            assertThat(r1.view.peer("rb").allowedIps()).as("rb is not primary").doesNotContain(lan);
        }
    }

    static dev.lattice.wire.tailcfg.Node routerOf(MapResponse m) {
        List<dev.lattice.wire.tailcfg.Node> l = m.peers() != null ? m.peers() : m.peersChanged();
        return l == null ? null : l.stream().filter(n -> n.name().startsWith("router.")).findFirst().orElse(null);
    }

    @Test
    void databaseModeValidatesAndTestsBeforeStoringThroughTheApiAndTheCli() throws Exception {
        start("policy:\n  mode: database\n");
        assertThat(server.policy().current().text()).as("nothing stored: allow-all").isNull();
        try (TestMachine a = joined("a", key(alice.id())); TestMachine b = joined("b", key(alice.id()))) {
            MapResponse first = b.await(Duration.ofSeconds(5), m -> m.peers() != null && m.peers().size() == 1);
            assertThat(first.packetFilter()).isEqualTo(dev.lattice.control.netmap.PacketPolicy.ALLOW_ALL_RULES);

            Path cfg = dir.resolve("config.yaml.src");
            Path bad = dir.resolve("bad.hujson");
            Files.writeString(bad, "accept * *\n\nerror 3 5 group \"group:x\" is not defined\n");
            Cli r = cli("-c", cfg.toString(), "policy", "check", "-f", bad.toString());
            assertThat(r.code).isEqualTo(1);
            assertThat(r.err).contains("line 3, column 5").contains("group:x");
            Files.writeString(bad, "accept * *\nfailtest\n");
            r = cli("-c", cfg.toString(), "policy", "set", "-f", bad.toString());
            assertThat(r.code).isEqualTo(1);
            assertThat(r.err).contains("setting policy").contains("test failed");
            assertThat(server.store().policy().get()).as("a failing test stores nothing").isEmpty();
            r = cli("-c", cfg.toString(), "policy", "get");
            assertThat(r.code).isEqualTo(1);
            assertThat(r.err).contains("no policy has been set");

            Path good = dir.resolve("good.hujson");
            Files.writeString(good, "# nobody\n");
            r = cli("-c", cfg.toString(), "policy", "check", "-f", good.toString());
            assertThat(r.out).contains("Policy is valid");
            r = cli("-c", cfg.toString(), "policy", "set", "-f", good.toString());
            assertThat(r.code).as(r.err).isZero();
            assertThat(r.out).contains("Policy updated.");
            a.awaitView(Duration.ofSeconds(5), v -> v.peers.isEmpty() && v.filter.isEmpty());
            r = cli("-c", cfg.toString(), "policy", "get");
            assertThat(r.out).isEqualTo("# nobody\n\n");
        }
        // Stored policies survive a restart.
        server.close();
        server = ControlServer.start(TestServer.config(dir, "policy:\n  mode: database\n"), Clock.systemUTC(), engine);
        assertThat(server.policy().current().text()).isEqualTo("# nobody\n");
    }

    @Test
    void fileModeRefusesSetAndABrokenFileKeepsTheServerFromStarting() throws Exception {
        Files.writeString(policyFile(), "error 4 2 unknown autogroup autogroup:nope\n");
        ControlConfig cfg = TestServer.config(dir, "policy:\n  mode: file\n  path: " + policyFile() + "\n");
        assertThatThrownBy(() -> ControlServer.start(cfg, Clock.systemUTC(), engine))
                .hasMessageContaining("line 4, column 2").hasMessageContaining("autogroup:nope");
        Files.writeString(policyFile(), "accept * *\n");
        server = ControlServer.start(cfg, Clock.systemUTC(), engine);
        assertThatThrownBy(() -> server.adminApi().setPolicy("accept * *\n"))
                .isInstanceOf(AdminException.class).hasMessageContaining("update is disabled for modes other than 'database'");
        assertThat(server.adminApi().getPolicy().policy()).isEqualTo("accept * *\n");
    }

    @Test
    void aBurstOfRegistrationsDoesNotCompileOncePerChangeAtTheMapSessions() throws Exception {
        startFileMode("accept * *\n");
        int before = engine.compilations.get();
        server.tailnet().announce(1); // UPDATED for an unknown node: nothing the policy sees
        server.tailnet().announceFull(); // users unchanged
        assertThat(engine.compilations.get()).isEqualTo(before);
        try (TestMachine a = joined("a", key(alice.id()))) {
            a.await(Duration.ofSeconds(5), m -> m.node() != null);
            int afterJoin = engine.compilations.get();
            // Endpoint and DERP updates are patches: no recompilation.
            a.post("/machine/map", a.mapRequest().stream(false).omitPeers(true).endpoints(List.of()).build());
            assertThat(engine.compilations.get()).isEqualTo(afterJoin);
        }
    }

    record Cli(int code, String out, String err) {}

    static Cli cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = ControlCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), new ByteArrayInputStream(new byte[0]));
        return new Cli(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
