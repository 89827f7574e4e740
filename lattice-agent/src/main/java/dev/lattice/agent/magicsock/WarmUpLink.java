package dev.lattice.agent.magicsock;

import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.device.Clock;
import dev.lattice.wireguard.device.Device;
import dev.lattice.wireguard.device.Peer;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Links the data path warm-up's two throwaway devices as latticed's device reaches its peers: each gets a
 * {@link MagicSock} of its own with the other as its one peer (disco key, loopback endpoint, no DERP), and each peer's
 * endpoint is virtual, so the warm-up's packets take the magic socket's per-packet paths (direct path choice,
 * authenticated receive) and the device's branches for virtual endpoints. With plain endpoints that code was first
 * compiled during a first real transfer, and the device's send and receive code, compiled without those branches,
 * was deoptimised by its first packets.
 */
public final class WarmUpLink implements Device.WarmUpLink {
    /** How long disco has to prove the loopback path both ways before the transfer starts anyway. */
    static final long PROVE_NANOS = 2_000_000_000L;

    private final EventLoopGroup group;
    /** Disco pongs the magic sockets of the links closed so far got: paths proven over loopback. */
    private final LongAdder pongs = new LongAdder();

    /** @param group the event loops the magic sockets would dial DERP on (they have no DERP map, so never do) */
    public WarmUpLink(EventLoopGroup group) {
        this.group = group;
    }

    @Override
    public AutoCloseable link(Device a, NodePrivateKey ka, Peer peerB, Device b, NodePrivateKey kb, Peer peerA)
            throws InterruptedException {
        DiscoPrivateKey da = DiscoPrivateKey.generate();
        DiscoPrivateKey db = DiscoPrivateKey.generate();
        MagicSock ma = new MagicSock(a, ka, da, group, null, MagicSock.Options.defaults(), Clock.SYSTEM);
        MagicSock mb = new MagicSock(b, kb, db, group, null, MagicSock.Options.defaults(), Clock.SYSTEM);
        try {
            ma.start();
            mb.start();
            ma.setPeers(List.of(node(kb, db, b.listenPort(), Device.WARM_UP_ADDRESSES.get(1))));
            mb.setPeers(List.of(node(ka, da, a.listenPort(), Device.WARM_UP_ADDRESSES.get(0))));
            a.setEndpoint(peerB, Endpoint.virtual());
            b.setEndpoint(peerA, Endpoint.virtual());
            // Asking for a direct path starts disco's pings; the handshake then goes straight over it instead of
            // waiting for WireGuard's 5 s retry after a first packet with nowhere to go.
            long deadline = System.nanoTime() + PROVE_NANOS;
            while ((ma.directPath(kb.publicKey()) == null || mb.directPath(ka.publicKey()) == null)
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        } catch (RuntimeException | InterruptedException e) {
            ma.close();
            mb.close();
            throw e;
        }
        return () -> {
            pongs.add(ma.stats.pongsReceived.sum() + mb.stats.pongsReceived.sum());
            ma.close();
            mb.close();
        };
    }

    /** Disco pongs received by the magic sockets of the links made and closed so far. */
    public long pongsReceived() {
        return pongs.sum();
    }

    private static Node node(NodePrivateKey key, DiscoPrivateKey disco, int port, String address) {
        return Node.builder().id((long) port).name("warm-up-" + port).key(key.publicKey()).discoKey(disco.publicKey())
                .addresses(List.of(IpPrefix.parse(address)))
                .endpoints(List.of(new AddrPort(InetAddress.getLoopbackAddress(), port))).build();
    }
}
