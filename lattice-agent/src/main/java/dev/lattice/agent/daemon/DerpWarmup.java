package dev.lattice.agent.daemon;

import dev.lattice.agent.ipn.NetcheckReport;
import dev.lattice.agent.netcheck.Netcheck;
import dev.lattice.agent.training.RelayLoader;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.derp.client.DerpClient;
import dev.lattice.derp.client.DerpClientListener;
import dev.lattice.derp.client.DerpClientOptions;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DERPNode;
import dev.lattice.wire.tailcfg.DERPRegion;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * What a node does in the moments after its first {@code up}, for the AOT cache's training run only: a DERP connection
 * (its HTTP upgrade, the client handshake, a relayed packet and a ping) and a netcheck (STUN), against a made-up relay
 * and STUN server on the loopback interface. Without it their classes and lambdas were loaded, linked and spun (~100
 * classes, a C2 compile of the JDK's MethodType.makeImpl) right as the user's next commands came, on a 2-core machine
 * where a {@code status} right after {@code up} then took 40-100 ms instead of ~17. Not run at an ordinary start, and the
 * relay comes from a class loader of its own ({@link RelayLoader}): its server side would otherwise stay loaded in
 * every latticed.
 */
final class DerpWarmup {
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private DerpWarmup() {}

    /**
     * Relays one packet between two clients on the daemon's {@code group} and {@code dialer}, pings the relay, and runs
     * a netcheck against it; the report.
     */
    static NetcheckReport run(EventLoopGroup group, Consumer<Bootstrap> dialer) throws Exception {
        DerpClient a = null;
        DerpClient b = null;
        try (RelayLoader.Relay relay = RelayLoader.start(DerpWarmup.class.getClassLoader())) {
            URI url = URI.create("http://127.0.0.1:" + relay.derpPort() + "/derp");
            DerpClientOptions options = DerpClientOptions.defaults().withDialer(dialer);
            NodePrivateKey keyB = NodePrivateKey.generate();
            CompletableFuture<byte[]> relayed = new CompletableFuture<>();
            a = new DerpClient(url, NodePrivateKey.generate(), options, group, null);
            b = new DerpClient(url, keyB, options, group, new DerpClientListener() {
                @Override
                public void onPacket(NodePublicKey src, byte[] packet) {
                    relayed.complete(packet);
                }
            });
            a.connect().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            b.connect().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            byte[] packet = new byte[148]; // a WireGuard handshake initiation's size
            packet[0] = 1;
            a.send(keyB.publicKey(), packet);
            if (relayed.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).length != packet.length) {
                throw new IllegalStateException("DERP warm-up: the packet came back changed");
            }
            a.ping(TIMEOUT).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);

            DERPNode node = DERPNode.builder().name("900a").regionId(900).hostName("127.0.0.1").ipv4("127.0.0.1").ipv6("none")
                    .stunPort(relay.stunPort()).derpPort(relay.derpPort()).build();
            DERPMap map = new DERPMap(null, Map.of(900, new DERPRegion(900, "warmup", "Warm-up", null, null, null, null,
                    List.of(node))), null);
            return Netcheck.standalone(map, Duration.ofSeconds(2), true);
        } finally {
            if (a != null) a.close();
            if (b != null) b.close();
        }
    }
}
