package dev.lattice.derp.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.Loopback;
import dev.lattice.derp.Recorder;
import dev.lattice.derp.client.DerpClient;
import dev.lattice.derp.client.DerpClientOptions;
import dev.lattice.derp.server.DerpServerOptions;
import dev.lattice.derp.standalone.StandaloneDerper;
import dev.lattice.wire.derp.Derp;
import dev.lattice.wire.derp.MeshKey;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Two servers of one region sharing a mesh key: clients on either reach each other. */
class MeshTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private final Loopback lab = new Loopback();
    private final MeshKey meshKey = MeshKey.fromRaw(NodePrivateKey.generate().raw());

    @AfterEach
    void tearDown() {
        lab.close();
    }

    @Test
    void clientsOnTwoMeshedServersExchangePackets() throws Exception {
        StandaloneDerper s1 = lab.server(DerpServerOptions.defaults().withMeshKey(meshKey));
        StandaloneDerper s2 = lab.server(DerpServerOptions.defaults().withMeshKey(meshKey));
        MeshPeer l12 = lab.add(new MeshPeer(s1.server(), Loopback.url(s2), DerpClientOptions.defaults(), lab.group)).start();
        MeshPeer l21 = lab.add(new MeshPeer(s2.server(), Loopback.url(s1), DerpClientOptions.defaults(), lab.group)).start();
        // Each link to itself (the server's own name in --mesh-with) must stop without looping.
        MeshPeer self = lab.add(new MeshPeer(s1.server(), Loopback.url(s1), DerpClientOptions.defaults(), lab.group)).start();

        Recorder ra = new Recorder(), rb = new Recorder();
        DerpClient a = lab.client(s1, ra), b = lab.client(s2, rb);
        a.connect().get(5, TimeUnit.SECONDS);
        b.connect().get(5, TimeUnit.SECONDS);
        await(() -> s1.server().hasRoute(b.publicKey()) && s2.server().hasRoute(a.publicKey()));

        a.send(b.publicKey(), "via mesh".getBytes());
        Recorder.Packet p = rb.next(WAIT);
        assertThat(p).isNotNull();
        assertThat(p.src()).isEqualTo(a.publicKey());
        assertThat(new String(p.data())).isEqualTo("via mesh");
        b.send(a.publicKey(), "back".getBytes());
        assertThat(new String(ra.next(WAIT).data())).isEqualTo("back");
        assertThat(s1.server().stats().packetsForwardedOut()).isEqualTo(1);
        assertThat(s2.server().stats().packetsForwardedIn()).isEqualTo(1);
        await(() -> !self.client().isConnected());

        // b leaves s2: s1 learns it through the mesh and tells a, who had heard from b.
        b.close();
        var gone = ra.gone.poll(5, TimeUnit.SECONDS);
        assertThat(gone).isNotNull();
        assertThat(gone.peer()).isEqualTo(b.publicKey());
        assertThat(gone.reason()).isEqualTo(Derp.PEER_GONE_DISCONNECTED);
        await(() -> !s1.server().hasRoute(b.publicKey()));
    }

    @Test
    void withoutTheMeshKeyWatchingIsRefused() throws Exception {
        StandaloneDerper s1 = lab.server(DerpServerOptions.defaults().withMeshKey(meshKey));
        Recorder r = new Recorder();
        DerpClient intruder = lab.client(Loopback.url(s1), NodePrivateKey.generate(),
                DerpClientOptions.defaults().withReconnect(false).withWatchConns(true)
                        .withMeshKey(MeshKey.fromRaw(NodePrivateKey.generate().raw())), r);
        // Admitted as a regular client, then cut off for asking to watch.
        try {
            intruder.connect().get(5, TimeUnit.SECONDS);
        } catch (Exception expected) {
            // The close may also win the race with ServerInfo.
        }
        await(() -> !intruder.isConnected());
        assertThat(s1.server().stats().protocolErrors()).isEqualTo(1);
        assertThat(r.present).isEmpty();
    }

    private static void await(BooleanSupplier c) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("condition not met in 5 s");
            Thread.sleep(20);
        }
    }
}
