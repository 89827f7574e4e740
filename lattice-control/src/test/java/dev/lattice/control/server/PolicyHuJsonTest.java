package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.admin.AdminException;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.RegisterResponse;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The server with the real HuJSON engine: a policy copied from the docs, its tests, and tags at registration. */
@Timeout(60)
class PolicyHuJsonTest {
    static final String POLICY = """
            {
              // groups and tags as in Tailscale's docs
              "groups": {"group:admins": ["alice@"]},
              "tagOwners": {"tag:web": ["group:admins"], "tag:client": ["alice@"]},
              "acls": [
                {"action": "accept", "src": ["tag:client"], "dst": ["tag:web:80,443"]},
              ],
            }
            """;

    @TempDir
    Path dir;
    ControlServer server;
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
    }

    /** Starts the server in database mode with {@code policy} and user alice; returns a reusable key of hers. */
    String startWith(String policy) throws Exception {
        server = ControlServer.start(TestServer.config(dir, "policy:\n  mode: database\n"));
        User alice = server.store().users().create("alice", "Alice", "alice@example.com");
        server.tailnet().announceFull();
        server.adminApi().setPolicy(policy);
        return server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(3600)).fullKey();
    }

    @Test
    void aDocsStylePolicyFiltersPerNodeAndRefusesTagsTheUserDoesNotOwn() throws Exception {
        String key = startWith(POLICY);
        try (TestMachine web = new TestMachine(group, server.config().serverUrl(), "web");
             TestMachine client = new TestMachine(group, server.config().serverUrl(), "client");
             TestMachine rogue = new TestMachine(group, server.config().serverUrl(), "rogue")) {
            web.hostinfoExtra = h -> h.withRequestTags(List.of("tag:web"));
            client.hostinfoExtra = h -> h.withRequestTags(List.of("tag:client"));
            rogue.hostinfoExtra = h -> h.withRequestTags(List.of("tag:nope"));
            assertThat(web.register(key).error()).isNull();
            assertThat(client.register(key).error()).isNull();
            RegisterResponse r = rogue.register(key);
            assertThat(r.error()).isEqualTo("requested tags [tag:nope] are invalid or not permitted");
            web.openStream();
            client.openStream();
            TailnetNode c = server.tailnet().nodes().stream().filter(n -> n.hostname().equals("client")).findFirst().orElseThrow();
            MapResponse wm = web.await(Duration.ofSeconds(5), m -> m.peers() != null && TestMachine.hasPeer(m.peers(), "client"));
            assertThat(wm.packetFilter()).isNotEmpty();
            assertThat(wm.packetFilter().getFirst().srcIps()).contains(c.ipv4().getHostAddress());
            MapResponse cm = client.await(Duration.ofSeconds(5), m -> m.peers() != null && TestMachine.hasPeer(m.peers(), "web"));
            assertThat(cm.packetFilter()).as("nothing may reach the client").isEmpty();
        }

        // A policy whose own test fails, or that names an unknown group, is refused with its position.
        String failing = POLICY.replace("  ],\n}", "  ],\n  \"tests\": [{\"src\": \"tag:web\", \"accept\": [\"tag:client:80\"]}],\n}");
        assertThatThrownBy(() -> server.adminApi().setPolicy(failing)).isInstanceOf(AdminException.class);
        String unknownGroup = POLICY.replace("[\"group:admins\"]", "[\"group:nope\"]");
        assertThatThrownBy(() -> server.adminApi().checkPolicy(unknownGroup)).isInstanceOf(AdminException.class)
                .hasMessageContaining("line").hasMessageContaining("group:nope");
        assertThat(server.adminApi().getPolicy().policy()).isEqualTo(POLICY);
    }

    static final String ROUTES_POLICY = """
            {
              "tagOwners": {"tag:router": ["alice@"], "tag:ops": ["alice@"], "tag:dev": ["alice@"]},
              "autoApprovers": {"routes": {"10.0.0.0/8": ["tag:router"]}, "exitNode": ["tag:router"]},
              "acls": [
                // everyone may ping the router itself; only ops may reach the subnet behind it
                {"action": "accept", "src": ["tag:ops", "tag:dev"], "dst": ["tag:router:*"]},
                {"action": "accept", "src": ["tag:ops"], "dst": ["10.1.0.0/16:*"]},
              ],
            }
            """;

    @Test
    void aPeersRoutesReachOnlyTheViewersThePolicyLetsUseThem() throws Exception {
        String key = startWith(ROUTES_POLICY);
        IpPrefix subnet = IpPrefix.parse("10.1.0.0/16"), v4exit = IpPrefix.parse("0.0.0.0/0");
        try (TestMachine router = new TestMachine(group, server.config().serverUrl(), "router");
             TestMachine ops = new TestMachine(group, server.config().serverUrl(), "ops");
             TestMachine dev = new TestMachine(group, server.config().serverUrl(), "dev")) {
            router.hostinfoExtra = h -> h.withRequestTags(List.of("tag:router")).withRoutableIps(List.of(subnet, v4exit, IpPrefix.parse("::/0")));
            ops.hostinfoExtra = h -> h.withRequestTags(List.of("tag:ops"));
            dev.hostinfoExtra = h -> h.withRequestTags(List.of("tag:dev"));
            for (TestMachine m : List.of(router, ops, dev)) assertThat(m.register(key).error()).isNull();
            for (TestMachine m : List.of(router, ops, dev)) m.openStream();

            // The router serves its subnet once it is online (and so the subnet's primary).
            TestMachine.View ov = ops.awaitView(Duration.ofSeconds(5), v -> v.peer("router") != null
                    && v.peer("router").allowedIps().contains(subnet));
            assertThat(ov.peer("router").primaryRoutes()).as("ops may reach 10.1.0.0/16").containsExactly(subnet);
            Thread.sleep(300); // dev has had the same updates by now
            TestMachine.View dv = dev.awaitView(Duration.ofSeconds(5), v -> v.peer("router") != null);
            assertThat(dv.peer("router").allowedIps()).as("dev may reach the router, not its subnet").doesNotContain(subnet)
                    .contains(v4exit); // exit routes: any rule in the family suffices, as in headscale
            assertThat(dv.peer("router").primaryRoutes()).isNull();

            // Widen the policy: dev gets the route through a delta, without reconnecting.
            server.adminApi().setPolicy(ROUTES_POLICY.replace("\"src\": [\"tag:ops\"], \"dst\": [\"10.1", "\"src\": [\"tag:ops\", \"tag:dev\"], \"dst\": [\"10.1"));
            MapResponse later = dev.await(Duration.ofSeconds(5), m -> peer(m, "router") != null && peer(m, "router").allowedIps().contains(subnet));
            assertThat(later.peers()).as("a delta").isNull();
        }
    }

    static dev.lattice.wire.tailcfg.Node peer(MapResponse m, String name) {
        List<dev.lattice.wire.tailcfg.Node> l = m.peers() != null ? m.peers() : m.peersChanged();
        return l == null ? null : l.stream().filter(n -> n.name().startsWith(name + ".")).findFirst().orElse(null);
    }
}
