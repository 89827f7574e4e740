package dev.lattice.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.conn.PathSelector;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Peers with a virtual endpoint are routed by a {@link PathSelector}: relayed (as DERP does) until it names a
 * direct UDP endpoint, and the device offers it every datagram that is not WireGuard.
 */
class PathSelectorTest {
    final MemoryNetwork net = new MemoryNetwork();
    final DeviceTest.TestClock clock = new DeviceTest.TestClock();
    final NodePrivateKey keyA = NodePrivateKey.generate(), keyB = NodePrivateKey.generate();
    final MemoryTun tunA = new MemoryTun("tunA"), tunB = new MemoryTun("tunB");
    final Device a, b;

    PathSelectorTest() throws Exception {
        a = new Device(tunA, net.new Host("192.0.2.1"), clock);
        b = new Device(tunB, net.new Host("192.0.2.2"), clock);
    }

    /** A relay that hands each datagram to the other device's receiveIndirect, counting them. */
    static final class Selector implements PathSelector {
        final AtomicReference<Device> other = new AtomicReference<>();
        final AtomicReference<Endpoint> direct = new AtomicReference<>();
        final AtomicInteger relayed = new AtomicInteger();
        final List<byte[]> others = new CopyOnWriteArrayList<>();
        final List<NodePublicKey> authenticated = new CopyOnWriteArrayList<>();

        @Override
        public Endpoint directPath(NodePublicKey peer) {
            return direct.get();
        }

        @Override
        public boolean sendIndirect(NodePublicKey peer, byte[] buf, int off, int len) {
            relayed.incrementAndGet();
            byte[] copy = Arrays.copyOfRange(buf, off, off + len + Device.INDIRECT_SLACK);
            other.get().receiveIndirect(copy, len);
            return true;
        }

        @Override
        public boolean receiveOther(byte[] buf, int off, int len, byte[] src) {
            others.add(Arrays.copyOfRange(buf, off, off + len));
            return true;
        }

        @Override
        public void authenticatedReceive(NodePublicKey peer, byte[] src) {
            authenticated.add(peer);
        }
    }

    final Selector selA = new Selector(), selB = new Selector();
    final AtomicInteger udpDatagrams = new AtomicInteger();

    {
        net.filter = d -> {
            udpDatagrams.incrementAndGet();
            return true;
        };
    }

    @AfterEach
    void tearDown() {
        a.close();
        b.close();
    }

    void start() throws Exception {
        a.setListenPort(51820);
        b.setListenPort(51820);
        a.setPrivateKey(keyA);
        b.setPrivateKey(keyB);
        Peer pb = a.addPeer(keyB.publicKey());
        a.allowedIps().insert(IpPrefix.parse("10.0.0.2/32"), pb);
        a.setEndpoint(pb, Endpoint.virtual());
        Peer pa = b.addPeer(keyA.publicKey());
        b.allowedIps().insert(IpPrefix.parse("10.0.0.1/32"), pa);
        b.setEndpoint(pa, Endpoint.virtual());
        selA.other.set(b);
        selB.other.set(a);
        a.setPathSelector(selA);
        b.setPathSelector(selB);
        a.start();
        b.start();
    }

    @Test
    void withoutADirectPathEverythingGoesIndirectAndStillWorksBothWays() throws Exception {
        start();
        byte[] ping = DeviceTest.ipv4("10.0.0.1", "10.0.0.2", 1);
        tunA.outbound.add(ping);
        assertThat(tunB.awaitDelivered(5000)).isEqualTo(ping);
        byte[] pong = DeviceTest.ipv4("10.0.0.2", "10.0.0.1", 2);
        tunB.outbound.add(pong);
        assertThat(tunA.awaitDelivered(5000)).isEqualTo(pong);
        assertThat(selA.relayed.get()).isGreaterThanOrEqualTo(2); // initiation + data
        assertThat(selB.relayed.get()).isGreaterThanOrEqualTo(2); // response + data
        assertThat(udpDatagrams.get()).isZero();
        // A virtual endpoint never roams: the selector keeps owning the path.
        assertThat(b.peer(keyA.publicKey()).endpoint().isVirtual()).isTrue();
        assertThat(selB.authenticated).contains(keyA.publicKey());
    }

    @Test
    void onceTheSelectorNamesADirectEndpointPacketsUseUdp() throws Exception {
        start();
        tunA.outbound.add(DeviceTest.ipv4("10.0.0.1", "10.0.0.2", 1));
        assertThat(tunB.awaitDelivered(5000)).isNotNull();
        int relayedBefore = selA.relayed.get();
        selA.direct.set(Endpoint.of(new InetSocketAddress("192.0.2.2", 51820)));
        byte[] second = DeviceTest.ipv4("10.0.0.1", "10.0.0.2", 2);
        tunA.outbound.add(second);
        assertThat(tunB.awaitDelivered(5000)).isEqualTo(second);
        assertThat(selA.relayed.get()).isEqualTo(relayedBefore);
        assertThat(udpDatagrams.get()).isPositive();
        assertThat(b.peer(keyA.publicKey()).endpoint().isVirtual()).isTrue();
    }

    @Test
    void datagramsThatAreNotWireGuardAreOfferedToTheSelector() throws Exception {
        start();
        byte[] disco = "TS\uD83D\uDCAC-not-wireguard".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        a.transport().send(disco, 0, disco.length, Endpoint.of(new InetSocketAddress("192.0.2.2", 51820)));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (selB.others.isEmpty() && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(selB.others).hasSize(1);
        assertThat(selB.others.getFirst()).isEqualTo(disco);
        assertThat(b.stats.malformed.sum()).isZero();
    }

    @Test
    void theVirtualEndpointIsInTheDiscardPrefixAndNeverEqualsARealOne() {
        assertThat(Endpoint.virtual().isVirtual()).isTrue();
        assertThat(Endpoint.virtual().toString()).isEqualTo("[100::]:0");
        assertThat(Endpoint.of(new InetSocketAddress("192.0.2.2", 0)).isVirtual()).isFalse();
    }
}
