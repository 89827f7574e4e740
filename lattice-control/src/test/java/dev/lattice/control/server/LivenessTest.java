package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.state.Change;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that vanishes without closing its connection (cut cable, power loss, NAT state dropped) is noticed: an HA
 * subnet router within probe_interval + probe_timeout, after which its subnet moves to the other router.
 */
@Timeout(60)
class LivenessTest {
    static final IpPrefix LAN = IpPrefix.parse("10.1.0.0/16");

    @TempDir
    Path dir;
    ControlServer server;
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    User alice;

    void start(String extraYaml) throws Exception {
        server = ControlServer.start(TestServer.config(dir, extraYaml));
        alice = server.store().users().create("alice", "Alice", "alice@example.com");
        server.tailnet().announceFull();
    }

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
    }

    String key() {
        return server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(3600)).fullKey();
    }

    TailnetNode node(String name) {
        return server.tailnet().nodes().stream().filter(n -> n.hostname().equals(name)).findFirst().orElseThrow();
    }

    void approve(String name) {
        server.tailnet().update(node(name).id(), Change.Kind.UPDATED, n -> n.toBuilder().approvedRoutes(List.of(LAN)).build());
    }

    @Test
    void aRouterWhoseLinkIsCutLosesItsPrimaryRoleAndGoesOfflineWithinTheProbeBound() throws Exception {
        start("""
                node:
                  routes:
                    ha:
                      probe_interval: 2s
                      probe_timeout: 1s
                """);
        try (BlackholeProxy cable = new BlackholeProxy(server.httpAddress());
             TestMachine ra = new TestMachine(group, cable.uri(), "ra");
             TestMachine rb = new TestMachine(group, server.config().serverUrl(), "rb");
             TestMachine viewer = new TestMachine(group, server.config().serverUrl(), "viewer")) {
            PolicyIntegrationTest.joinAsRouter(ra, key(), LAN);
            approve("ra");
            viewer.register(key());
            viewer.openStream();
            viewer.awaitView(Duration.ofSeconds(5), v -> v.peer("ra") != null && v.peer("ra").allowedIps().contains(LAN));
            PolicyIntegrationTest.joinAsRouter(rb, key(), LAN);
            approve("rb");
            viewer.awaitView(Duration.ofSeconds(5), v -> v.peer("rb") != null);
            Thread.sleep(2500); // a probe round with both answering: nothing moves
            assertThat(server.tailnet().isOnline(node("ra").id())).isTrue();
            assertThat(viewer.view.peer("ra").allowedIps()).as("ra is primary while it answers").contains(LAN);

            long t0 = System.nanoTime();
            cable.cut();
            viewer.awaitView(Duration.ofSeconds(10), v -> v.peer("rb").allowedIps().contains(LAN)
                    && !v.peer("ra").allowedIps().contains(LAN));
            Duration failover = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(server.tailnet().isOnline(node("ra").id())).as("the cut router is offline").isFalse();
            assertThat(server.tailnet().isOnline(node("rb").id())).isTrue();
            System.out.printf("[liveness] cut cable -> subnet moved to the other router in %d ms (bound 3000 ms + delivery)%n",
                    failover.toMillis());
            assertThat(failover).as("probe_interval + probe_timeout, plus delivery").isLessThan(Duration.ofMillis(4500));
        }
    }

    @Test
    void withProbesOffACutRouterKeepsItsRoleUntilItsConnectionDies() throws Exception {
        // The control group for the test above: without probes nothing notices within the same time.
        start("""
                node:
                  routes:
                    ha:
                      probe_interval: 0s
                """);
        try (BlackholeProxy cable = new BlackholeProxy(server.httpAddress());
             TestMachine ra = new TestMachine(group, cable.uri(), "ra");
             TestMachine rb = new TestMachine(group, server.config().serverUrl(), "rb")) {
            PolicyIntegrationTest.joinAsRouter(ra, key(), LAN);
            approve("ra");
            PolicyIntegrationTest.joinAsRouter(rb, key(), LAN);
            approve("rb");
            Thread.sleep(500);
            cable.cut();
            Thread.sleep(5000);
            assertThat(server.tailnet().isOnline(node("ra").id())).isTrue();
        }
    }
}
