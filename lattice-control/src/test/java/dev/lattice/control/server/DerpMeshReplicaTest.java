package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.admin.AdminApi;
import dev.lattice.control.replica.DerpMesh;
import dev.lattice.control.store.NewKey;
import dev.lattice.control.store.PreAuthKey;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.User;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.derp.client.DerpClient;
import dev.lattice.derp.client.DerpClientListener;
import dev.lattice.derp.client.DerpClientOptions;
import dev.lattice.wire.tailcfg.DERPNode;
import dev.lattice.wire.tailcfg.DERPRegion;
import io.netty.channel.EventLoopGroup;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded DERP servers of replicas on one PostgreSQL database find each other there and mesh: the DERP map
 * each serves is one region listing every live replica (itself first), a packet from a client on one replica reaches
 * a client on the other through the mesh, and a replica that leaves, or whose heartbeat lapses, drops out of the map
 * and the mesh.
 */
@Timeout(120)
class DerpMeshReplicaTest {
    @TempDir
    Path dir;
    ReplicaPair r;
    ControlServer a;
    ControlServer b;
    EventLoopGroup group;

    @BeforeEach
    void start() throws Exception {
        r = ReplicaPair.start(dir);
        a = r.a;
        b = r.b;
        group = r.group;
    }

    @AfterEach
    void stop() {
        if (r != null) r.close();
    }

    static List<DERPNode> region(ControlServer s) {
        DERPRegion r = s.derpMap().regions().get(s.config().derp().server().regionId());
        return r == null ? List.of() : r.nodes();
    }

    static int port(DERPNode n) {
        return n.derpPort();
    }

    @Test
    void replicasServeOneRegionAndRelayBetweenClientsHomedOnEach() throws Exception {
        await("both replicas in both maps", Duration.ofSeconds(10), () -> region(a).size() == 2 && region(b).size() == 2);
        assertThat(port(region(a).getFirst())).as("a lists itself first").isEqualTo(a.httpAddress().getPort());
        assertThat(port(region(b).getFirst())).as("b lists itself first").isEqualTo(b.httpAddress().getPort());
        assertThat(region(a).stream().map(DERPNode::name).sorted().toList())
                .as("the same names on both").isEqualTo(region(b).stream().map(DERPNode::name).sorted().toList())
                .containsExactly("999a", "999b");
        assertThat(a.derp().publicKey()).isNotEqualTo(b.derp().publicKey());

        User alice = a.adminApi().createUser(new AdminApi.NewUser("alice", "Alice", "alice@example.com"));
        NewKey<PreAuthKey> k = a.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(600));
        LinkedBlockingQueue<String> atD = new LinkedBlockingQueue<>();
        try (TestMachine c = new TestMachine(group, a.config().serverUrl(), "c");
                TestMachine d = new TestMachine(group, b.config().serverUrl(), "d")) {
            assertThat(c.register(k.fullKey()).machineAuthorized()).isTrue();
            assertThat(d.register(k.fullKey()).machineAuthorized()).isTrue();
            // verify_clients is on: each relay admits the node once its replica knows it (through the change log).
            await("d known to a", Duration.ofSeconds(5), () -> a.tailnet().byNodeKey(d.nodeKey.publicKey()).isPresent());
            await("c known to b", Duration.ofSeconds(5), () -> b.tailnet().byNodeKey(c.nodeKey.publicKey()).isPresent());
            var opts = DerpClientOptions.defaults().withReconnect(false);
            DerpClient dc = new DerpClient(a.config().derpUrl().resolve("/derp"), c.nodeKey, opts, group, new DerpClientListener() {});
            DerpClient dd = new DerpClient(b.config().derpUrl().resolve("/derp"), d.nodeKey, opts, group, new DerpClientListener() {
                @Override
                public void onPacket(NodePublicKey src, byte[] data) {
                    atD.add(src + " " + new String(data));
                }
            });
            try (dc; dd) {
                dc.connect().get(5, TimeUnit.SECONDS);
                dd.connect().get(5, TimeUnit.SECONDS);
                await("a has a mesh route to d", Duration.ofSeconds(10), () -> a.derp().hasRoute(d.nodeKey.publicKey()));
                assertThat(a.derp().isLocal(d.nodeKey.publicKey())).isFalse();
                dc.send(d.nodeKey.publicKey(), "across replicas".getBytes());
                assertThat(atD.poll(5, TimeUnit.SECONDS)).isEqualTo(c.nodeKey.publicKey() + " across replicas");
                assertThat(a.derp().stats().packetsForwardedOut()).isEqualTo(1);
                assertThat(b.derp().stats().packetsForwardedIn()).isEqualTo(1);
            }
        }

        // A replica that stops leaves at once (its row goes): the other unlinks and serves itself alone.
        long t0 = System.nanoTime();
        b.close();
        b = null;
        await("b gone from a's map", Duration.ofSeconds(5), () -> region(a).size() == 1);
        System.out.printf("[derp-mesh] a stopped replica left the map in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        assertThat(region(a).getFirst().name()).as("alone again: named after the region").isEqualTo("999");
        assertThat(a.derpMesh().peers()).isEmpty();
    }

    @Test
    void aReplicaWhoseHeartbeatLapsesLeavesTheMapAndTheMesh() throws Exception {
        await("a and b meshed", Duration.ofSeconds(10), () -> a.derpMesh().peers().size() == 1 && b.derpMesh().peers().size() == 1);
        // A replica killed with -9 writes one last heartbeat and never another: a ghost row, nobody listening there.
        URI ghost;
        try (ServerSocket s = new ServerSocket(0)) {
            ghost = URI.create("http://127.0.0.1:" + s.getLocalPort());
        }
        String json = dev.lattice.wire.tailcfg.Tailcfg.json().writeValueAsString(
                DERPNode.builder().name("999").regionId(999).hostName("127.0.0.1").derpPort(ghost.getPort()).build());
        try (Store other = Store.open(r.pg.config(dir.resolve("ghost")).database())) {
            other.replicas().beat(new dev.lattice.control.store.Replicas.Derp(ghost, json));
        }
        long t0 = System.nanoTime();
        await("the ghost in a's map", Duration.ofSeconds(5), () -> region(a).size() == 3);
        assertThat(a.derpMesh().peers()).contains(ghost);
        await("the ghost gone from a's map", Duration.ofSeconds(15), () -> region(a).size() == 2);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("[derp-mesh] a lapsed replica left the map after %d ms%n", ms);
        assertThat(ms).as("not before its heartbeat lapsed").isGreaterThanOrEqualTo(DerpMesh.LAPSE.toMillis() - 1000);
        assertThat(a.derpMesh().peers()).doesNotContain(ghost).hasSize(1);
        await("and from b's", Duration.ofSeconds(3), () -> region(b).size() == 2);
    }

    static void await(String what, Duration timeout, BooleanSupplier p) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!p.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting for: " + what);
            Thread.sleep(20);
        }
    }
}
