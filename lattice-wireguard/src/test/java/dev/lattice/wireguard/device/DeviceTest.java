package dev.lattice.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.wireguard.WgMessage;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Two devices on an in-memory network: the protocol end to end without root or a kernel. */
class DeviceTest {
    static final class TestClock implements Clock {
        final AtomicLong offset = new AtomicLong();

        @Override
        public long nanoTime() {
            return System.nanoTime() + offset.get();
        }

        @Override
        public long epochNanos() {
            return Clock.SYSTEM.epochNanos() + offset.get();
        }

        void advanceSeconds(long s) {
            offset.addAndGet(s * 1_000_000_000L);
        }
    }

    final MemoryNetwork net = new MemoryNetwork();
    final TestClock clock = new TestClock();
    final List<AutoCloseable> toClose = new ArrayList<>();
    MemoryNetwork.Host hostA, hostB;
    MemoryTun tunA, tunB;
    Device a, b;
    NodePrivateKey keyA = NodePrivateKey.generate();
    NodePrivateKey keyB = NodePrivateKey.generate();

    @BeforeEach
    void setUp() throws Exception {
        hostA = net.new Host("192.0.2.1");
        hostB = net.new Host("192.0.2.2");
        tunA = new MemoryTun("tunA");
        tunB = new MemoryTun("tunB");
        a = new Device(tunA, hostA, clock);
        b = new Device(tunB, hostB, clock);
        toClose.add(a);
        toClose.add(b);
        a.setListenPort(51820);
        b.setListenPort(51820);
        a.setPrivateKey(keyA);
        b.setPrivateKey(keyB);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : toClose) c.close();
    }

    Peer link(Device from, NodePublicKey to, String allowed, String endpointIp) {
        Peer p = from.addPeer(to);
        from.allowedIps().insert(IpPrefix.parse(allowed), p);
        if (endpointIp != null) from.setEndpoint(p, new InetSocketAddress(endpointIp, 51820));
        return p;
    }

    void startLinked() throws Exception {
        link(a, keyB.publicKey(), "10.0.0.2/32", "192.0.2.2");
        link(b, keyA.publicKey(), "10.0.0.1/32", "192.0.2.1");
        a.start();
        b.start();
    }

    /** A minimal IPv4/UDP packet with a payload marker. */
    static byte[] ipv4(String src, String dst, int marker) throws Exception {
        byte[] p = new byte[28 + 4];
        p[0] = 0x45;
        p[2] = 0;
        p[3] = (byte) p.length;
        p[8] = 64;
        p[9] = 17;
        System.arraycopy(java.net.InetAddress.getByName(src).getAddress(), 0, p, 12, 4);
        System.arraycopy(java.net.InetAddress.getByName(dst).getAddress(), 0, p, 16, 4);
        p[28] = (byte) (marker >>> 24);
        p[29] = (byte) (marker >>> 16);
        p[30] = (byte) (marker >>> 8);
        p[31] = (byte) marker;
        return p;
    }

    @Test
    void packetsFlowBothWaysAfterAHandshakeStartedByTheFirstPacket() throws Exception {
        startLinked();
        byte[] ping = ipv4("10.0.0.1", "10.0.0.2", 1);
        tunA.outbound.add(ping);
        assertThat(tunB.awaitDelivered(5000)).isEqualTo(ping);

        byte[] pong = ipv4("10.0.0.2", "10.0.0.1", 2);
        tunB.outbound.add(pong);
        assertThat(tunA.awaitDelivered(5000)).isEqualTo(pong);

        Peer pa = a.peer(keyB.publicKey());
        Peer pb = b.peer(keyA.publicKey());
        assertThat(pa.lastHandshakeEpochNanos()).isPositive();
        assertThat(pb.lastHandshakeEpochNanos()).isPositive();
        // The sender counts its bytes after the send returns, which may be after the receiver delivered them.
        long end = System.nanoTime() + 2_000_000_000L;
        while ((pa.txBytes() == 0 || pb.rxBytes() == 0) && System.nanoTime() < end) Thread.sleep(10);
        assertThat(pa.txBytes()).isPositive();
        assertThat(pb.rxBytes()).isPositive();
        // The responder learned the initiator's endpoint from the handshake.
        assertThat(pb.endpoint().address()).isEqualTo(new InetSocketAddress("192.0.2.1", 51820));
    }

    @Test
    void aResponderWithoutAnEndpointCanStillAnswer() throws Exception {
        link(a, keyB.publicKey(), "10.0.0.2/32", "192.0.2.2");
        link(b, keyA.publicKey(), "10.0.0.1/32", null);
        a.start();
        b.start();
        tunA.outbound.add(ipv4("10.0.0.1", "10.0.0.2", 1));
        assertThat(tunB.awaitDelivered(5000)).isNotNull();
        byte[] pong = ipv4("10.0.0.2", "10.0.0.1", 2);
        tunB.outbound.add(pong);
        assertThat(tunA.awaitDelivered(5000)).isEqualTo(pong);
    }

    @Test
    void aPeerWithTheWrongKeyGetsNoTrafficThrough() throws Exception {
        link(a, keyB.publicKey(), "10.0.0.2/32", "192.0.2.2");
        link(b, NodePrivateKey.generate().publicKey(), "10.0.0.1/32", "192.0.2.1"); // not A's key
        a.start();
        b.start();
        tunA.outbound.add(ipv4("10.0.0.1", "10.0.0.2", 1));
        assertThat(tunB.awaitDelivered(1500)).isNull();
        assertThat(b.stats.handshakeRejected.sum()).isPositive();
        assertThat(a.peer(keyB.publicKey()).lastHandshakeEpochNanos()).isZero();
    }

    @Test
    void packetsFromASourceOutsideThePeersAllowedIpsAreDropped() throws Exception {
        startLinked();
        tunA.outbound.add(ipv4("10.0.0.1", "10.0.0.2", 1));
        assertThat(tunB.awaitDelivered(5000)).isNotNull();
        tunA.outbound.add(ipv4("10.9.9.9", "10.0.0.2", 2)); // spoofed inner source
        assertThat(tunB.awaitDelivered(700)).isNull();
        assertThat(b.stats.disallowedSource.sum()).isEqualTo(1);
    }

    @Test
    void aReplayedTransportPacketIsDroppedAndCounted() throws Exception {
        List<MemoryNetwork.Datagram> seen = new CopyOnWriteArrayList<>();
        net.filter = d -> {
            seen.add(d);
            return true;
        };
        startLinked();
        tunA.outbound.add(ipv4("10.0.0.1", "10.0.0.2", 1));
        assertThat(tunB.awaitDelivered(5000)).isNotNull();
        MemoryNetwork.Datagram data = seen.stream()
                .filter(d -> d.data()[0] == WgMessage.TYPE_TRANSPORT && d.data().length > WgMessage.KEEPALIVE_SIZE)
                .findFirst().orElseThrow();
        net.socket(new InetSocketAddress("192.0.2.2", 51820)).inject(data.data(), new InetSocketAddress("192.0.2.1", 51820));
        assertThat(tunB.awaitDelivered(700)).isNull();
        assertThat(b.stats.replayed.sum()).isEqualTo(1);
    }

    @Test
    void garbageDatagramsAreCountedAndTheTunnelKeepsWorking() throws Exception {
        startLinked();
        var sockB = net.socket(new InetSocketAddress("192.0.2.2", 51820));
        Random rnd = new Random(42);
        InetSocketAddress evil = new InetSocketAddress("192.0.2.66", 1234);
        for (int i = 0; i < 2000; i++) {
            byte[] g = new byte[rnd.nextInt(200)];
            rnd.nextBytes(g);
            if (g.length > 4 && rnd.nextBoolean()) {
                g[0] = (byte) (1 + rnd.nextInt(4)); // plausible type, zero reserved bytes
                g[1] = g[2] = g[3] = 0;
            }
            sockB.inject(g, evil);
        }
        // Right-sized but forged handshake messages too.
        for (int size : new int[] {WgMessage.INITIATION_SIZE, WgMessage.RESPONSE_SIZE, WgMessage.COOKIE_REPLY_SIZE}) {
            byte[] g = new byte[size];
            rnd.nextBytes(g);
            g[0] = (byte) (size == WgMessage.INITIATION_SIZE ? 1 : size == WgMessage.RESPONSE_SIZE ? 2 : 3);
            g[1] = g[2] = g[3] = 0;
            sockB.inject(g, evil);
        }
        byte[] ping = ipv4("10.0.0.1", "10.0.0.2", 7);
        tunA.outbound.add(ping);
        assertThat(tunB.awaitDelivered(5000)).isEqualTo(ping);
        long dropped = b.stats.malformed.sum() + b.stats.unknownIndex.sum() + b.stats.handshakeRejected.sum();
        assertThat(dropped).isGreaterThan(1000);
    }

    @Test
    void theEndpointFollowsAPeerThatRoams() throws Exception {
        startLinked();
        tunA.outbound.add(ipv4("10.0.0.1", "10.0.0.2", 1));
        assertThat(tunB.awaitDelivered(5000)).isNotNull();
        hostA.moveTo("198.51.100.7");
        tunA.outbound.add(ipv4("10.0.0.1", "10.0.0.2", 2));
        assertThat(tunB.awaitDelivered(5000)).isNotNull();
        Peer pb = b.peer(keyA.publicKey());
        assertThat(pb.endpoint().address()).isEqualTo(new InetSocketAddress("198.51.100.7", 51820));
        byte[] pong = ipv4("10.0.0.2", "10.0.0.1", 3);
        tunB.outbound.add(pong);
        assertThat(tunA.awaitDelivered(5000)).isEqualTo(pong);
    }

    @Test
    void theInitiatorRekeysAfterRekeyAfterTimeWithoutLosingTraffic() throws Exception {
        startLinked();
        tunA.outbound.add(ipv4("10.0.0.1", "10.0.0.2", 1));
        assertThat(tunB.awaitDelivered(5000)).isNotNull();
        Peer pa = a.peer(keyB.publicKey());
        Keypair first = pa.current;
        clock.advanceSeconds(121);
        for (int i = 0; i < 20 && pa.current == first; i++) {
            tunA.outbound.add(ipv4("10.0.0.1", "10.0.0.2", 100 + i));
            assertThat(tunB.awaitDelivered(5000)).isNotNull();
            Thread.sleep(50);
        }
        assertThat(pa.current).isNotSameAs(first);
        byte[] after = ipv4("10.0.0.1", "10.0.0.2", 999);
        tunA.outbound.add(after);
        assertThat(tunB.awaitDelivered(5000)).isEqualTo(after);
    }

    @Test
    void underLoadTheResponderDemandsACookieAndTheInitiatorRetriesWithIt() throws Exception {
        b.handshakes.underLoadThreshold = 0; // every handshake counts as load
        startLinked();
        tunA.outbound.add(ipv4("10.0.0.1", "10.0.0.2", 1));
        // First initiation gets a cookie reply; the retransmit 5 s later carries mac2 and succeeds.
        assertThat(tunB.awaitDelivered(9000)).isNotNull();
        assertThat(b.stats.cookieRepliesSent.sum()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void paddingFollowsWireguardGo() {
        assertThat(Send.paddedLength(0, 1420)).isZero();
        assertThat(Send.paddedLength(1, 1420)).isEqualTo(16);
        assertThat(Send.paddedLength(1419, 1420)).isEqualTo(1420);
        assertThat(Send.paddedLength(1420, 1420)).isEqualTo(1420);
        assertThat(Send.paddedLength(100, 0)).isEqualTo(112);
    }
}
