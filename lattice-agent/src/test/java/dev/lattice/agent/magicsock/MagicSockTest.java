package dev.lattice.agent.magicsock;

import dev.lattice.agent.testing.MemoryTun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.lattice.agent.ipn.PingResult;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.server.DerpServer;
import dev.lattice.derp.standalone.StandaloneDerper;
import dev.lattice.derp.stun.StunServer;
import dev.lattice.wire.disco.Disco;
import dev.lattice.wire.disco.DiscoMessage;
import dev.lattice.wire.disco.TxId;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DERPNode;
import dev.lattice.wire.tailcfg.DERPRegion;
import dev.lattice.wire.tailcfg.EndpointType;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.conn.UdpSocket;
import dev.lattice.wireguard.conn.UdpTransport;
import dev.lattice.wireguard.device.Clock;
import dev.lattice.wireguard.device.Device;
import dev.lattice.wireguard.device.Peer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two devices with magic sockets on 127.0.0.1 and an in-process DERP server and STUN server: traffic starts over
 * DERP, disco proves a direct path within seconds, blocking direct UDP falls back to DERP and unblocking recovers.
 */
class MagicSockTest {
    static final int REGION = 900;

    /** Datagrams to these UDP ports are dropped: the test's "firewall" on the direct path. */
    static final Set<Integer> blocked = ConcurrentHashMap.newKeySet();

    /** The real UDP socket with the firewall in front of its sends. */
    record Filtered(UdpSocket inner) implements UdpTransport {
        @Override
        public int port() {
            return inner.port();
        }

        @Override
        public void setMark(int mark) throws IOException {
            inner.setMark(mark);
        }

        @Override
        public int receive(byte[] buf, int off, int max, byte[] src, int[] srcLen, int timeoutMillis) throws IOException {
            return inner.receive(buf, off, max, src, srcLen, timeoutMillis);
        }

        @Override
        public boolean send(byte[] buf, int off, int len, Endpoint to) {
            if (blocked.contains(to.address().getPort())) return true; // silently lost, as on a real network
            return inner.send(buf, off, len, to);
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    /** One node: device, TUN and magic socket. */
    final class Side implements AutoCloseable {
        final NodePrivateKey key = NodePrivateKey.generate();
        final DiscoPrivateKey disco = DiscoPrivateKey.generate();
        final MemoryTun tun;
        final Device device;
        final MagicSock ms;
        final String ip;

        Side(String name, String ip) throws IOException {
            this.ip = ip;
            tun = new MemoryTun(name, false);
            device = new Device(tun, port -> new Filtered(UdpSocket.open(port)), Clock.SYSTEM);
            device.setPrivateKey(key);
            device.start();
            ms = new MagicSock(device, key, disco, group, null,
                    MagicSock.Options.defaults().withDerpHttp(true), Clock.SYSTEM);
            ms.start();
        }

        Node node() {
            List<AddrPort> eps = new ArrayList<>();
            ms.endpoints().forEach(e -> eps.add(e.addr()));
            return Node.builder().id(ip.hashCode() & 0xffffL).name(ip).key(key.publicKey()).discoKey(disco.publicKey())
                    .addresses(List.of(IpPrefix.parse(ip + "/32"))).endpoints(eps).homeDerp(ms.homeDerp()).build();
        }

        void addPeer(Side other) {
            Peer p = device.addPeer(other.key.publicKey());
            device.allowedIps().insert(IpPrefix.parse(other.ip + "/32"), p);
            device.setEndpoint(p, Endpoint.virtual());
            ms.setPeers(List.of(other.node()));
        }

        @Override
        public void close() {
            ms.close();
            device.close();
        }
    }

    EventLoopGroup group;
    StandaloneDerper derper;
    StunServer stun;
    DERPMap derpMap;
    Side a, b;

    @BeforeEach
    void setUp() throws Exception {
        blocked.clear();
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        derper = StandaloneDerper.start(new DerpServer(NodePrivateKey.generate()), new InetSocketAddress("127.0.0.1", 0), null, group);
        stun = StunServer.start(new InetSocketAddress("127.0.0.1", 0));
        DERPNode node = DERPNode.builder().name("900a").regionId(REGION).hostName("127.0.0.1").ipv4("127.0.0.1").ipv6("none")
                .stunPort(stun.boundAddress().getPort()).derpPort(derper.boundAddress().getPort()).build();
        derpMap = new DERPMap(null, Map.of(REGION, new DERPRegion(REGION, "test", "Test", null, null, null, null, List.of(node))), null);
    }

    @AfterEach
    void tearDown() {
        if (a != null) a.close();
        if (b != null) b.close();
        if (stun != null) stun.close();
        if (derper != null) derper.close();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        blocked.clear();
    }

    static void await(String what, long millis, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    void startPair() throws Exception {
        a = new Side("tunA", "100.64.0.1");
        b = new Side("tunB", "100.64.0.2");
        a.ms.setDerpMap(derpMap);
        b.ms.setDerpMap(derpMap);
        for (Side s : List.of(a, b)) {
            await("netcheck and home DERP", 10_000, () -> s.ms.homeDerp() == REGION && s.ms.homeDerpConnected()
                    && s.ms.endpoints().stream().anyMatch(e -> e.type() == EndpointType.STUN));
        }
        a.addPeer(b);
        b.addPeer(a);
    }

    /** Sends one packet A→B and waits for it; returns whether it arrived. */
    boolean roundTrip(int marker) throws Exception {
        byte[] p = MemoryTun.ipv4(a.ip, b.ip, marker);
        a.tun.fromHost.add(p);
        byte[] got;
        while ((got = b.tun.awaitToHost(8000)) != null) { // > WireGuard's 5 s handshake retry
            if (java.util.Arrays.equals(got, p)) return true;
        }
        return false;
    }

    /** The first map request must tell peers on the same LAN where we are: no DERP map, no netcheck needed for that. */
    @Test
    void theInterfacesAddressesAreEndpointsFromTheStart() throws Exception {
        MemoryTun tun = new MemoryTun("early", false);
        Device device = new Device(tun, port -> new Filtered(UdpSocket.open(port)), Clock.SYSTEM);
        NodePrivateKey key = NodePrivateKey.generate();
        device.setPrivateKey(key);
        device.start();
        List<List<DiscoveredEndpoint>> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        MagicSock ms = new MagicSock(device, key, DiscoPrivateKey.generate(), group, new MagicSock.Listener() {
            @Override
            public void endpointsChanged(List<DiscoveredEndpoint> endpoints) {
                told.add(endpoints);
            }
        }, MagicSock.Options.defaults().withIncludeLoopback(true), Clock.SYSTEM);
        try {
            assertThat(ms.endpoints()).isEmpty();
            ms.start();
            int port = device.transport().port();
            assertThat(ms.endpoints()).as("before any DERP map or netcheck")
                    .contains(new DiscoveredEndpoint(AddrPort.parse("127.0.0.1:" + port), EndpointType.LOCAL));
            assertThat(told).hasSize(1);
            assertThat(ms.lastNetcheck()).isNull();
        } finally {
            ms.close();
            device.close();
        }
    }

    @Test
    void whenTheRegionsFirstNodeChangesTheHomeConnectionMovesToIt() throws Exception {
        // Replicas of lattice-control each list themselves first; a client that fails over to another replica gets a
        // map naming that one first and must move there (the old one may be dead).
        StandaloneDerper second = StandaloneDerper.start(new DerpServer(NodePrivateKey.generate()),
                new InetSocketAddress("127.0.0.1", 0), null, group);
        try {
            startPair();
            await("a homed on the first node", 5_000, () -> derper.server().isLocal(a.key.publicKey()));
            DERPRegion r = derpMap.regions().get(REGION);
            DERPNode first = r.nodes().getFirst();
            DERPNode other = first.toBuilder().name("900b").derpPort(second.boundAddress().getPort()).build();
            a.ms.setDerpMap(new DERPMap(null, Map.of(REGION, new DERPRegion(REGION, "test", "Test", null, null, null, null,
                    List.of(other, first))), null));
            await("a homed on the node now listed first", 5_000, () -> second.server().isLocal(a.key.publicKey())
                    && !derper.server().isLocal(a.key.publicKey()) && a.ms.homeDerpConnected());
            // The same map again (b's unchanged) keeps the connection.
            long accepts = derper.server().stats().accepts();
            b.ms.setDerpMap(derpMap);
            Thread.sleep(300);
            assertThat(derper.server().stats().accepts()).isEqualTo(accepts);
            assertThat(derper.server().isLocal(b.key.publicKey())).isTrue();
        } finally {
            second.close();
        }
    }

    @Test
    void aRegionWhoseFirstNodeIsUnreachableIsReachedThroughItsNext() throws Exception {
        // A lattice-control replica killed a moment ago is still listed (until its heartbeat lapses).
        int dead;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0)) {
            dead = ss.getLocalPort();
        }
        DERPNode live = derpMap.regions().get(REGION).nodes().getFirst();
        DERPNode gone = live.toBuilder().name("900z").derpPort(dead).build();
        derpMap = new DERPMap(null, Map.of(REGION, new DERPRegion(REGION, "test", "Test", null, null, null, null,
                List.of(gone, live))), null);
        startPair();
        await("both homed on the region's second node", 10_000,
                () -> derper.server().isLocal(a.key.publicKey()) && derper.server().isLocal(b.key.publicKey()));
        a.ms.setDerpMap(derpMap); // the same map again (every netmap carries it) keeps the working connection
        Thread.sleep(300);
        assertThat(derper.server().isLocal(a.key.publicKey())).isTrue();
        assertThat(roundTrip(7)).as("a packet through the region").isTrue();
    }

    @Test
    void netcheckOnTheDeviceSocketFindsTheStunMappedEndpointAndTheHomeRegion() throws Exception {
        startPair();
        int port = a.device.transport().port();
        assertThat(a.ms.endpoints()).contains(new DiscoveredEndpoint(AddrPort.parse("127.0.0.1:" + port), EndpointType.STUN));
        assertThat(a.ms.lastNetcheck().udp()).isTrue();
        assertThat(a.ms.lastNetcheck().regionLatencySeconds()).containsKey(REGION);
        assertThat(a.ms.discoPublicKey()).isEqualTo(a.disco.publicKey());
    }

    @Test
    void trafficStartsOverDerpThenGoesDirectThenFallsBackWhenUdpIsBlockedAndRecovers() throws Exception {
        startPair();
        // 1. The first packets (handshake and data) can only go over DERP: nothing is proven yet.
        assertThat(roundTrip(1)).isTrue();
        assertThat(a.ms.stats.derpSent.sum()).isPositive();
        assertThat(b.ms.stats.derpReceived.sum()).isPositive();

        // 2. Disco proves the direct path within a few seconds.
        int portB = b.device.transport().port();
        await("direct path A→B", 8_000, () -> !a.ms.pathOf(b.key.publicKey()).curAddr().isEmpty());
        assertThat(a.ms.pathOf(b.key.publicKey()).curAddr()).endsWith(":" + portB);
        PingResult direct = a.ms.ping(b.key.publicKey(), Duration.ofSeconds(3)).get();
        assertThat(direct.err()).isNull();
        assertThat(direct.endpoint()).endsWith(":" + portB);
        assertThat(direct.latencySeconds()).isPositive();
        long derpBefore = a.ms.stats.derpSent.sum();
        assertThat(roundTrip(2)).isTrue();
        assertThat(a.ms.stats.derpSent.sum()).isEqualTo(derpBefore); // data went direct

        // 3. Block direct UDP both ways: pongs stop, trust expires, packets go over DERP again.
        blocked.add(portB);
        blocked.add(a.device.transport().port());
        long t0 = System.nanoTime();
        int marker = 10;
        while (!a.ms.pathOf(b.key.publicKey()).curAddr().isEmpty()) {
            assertThat(System.nanoTime() - t0).as("fallback to DERP").isLessThan(15_000_000_000L);
            a.tun.fromHost.add(MemoryTun.ipv4(a.ip, b.ip, marker++)); // traffic keeps heartbeats going
            Thread.sleep(200);
        }
        b.tun.toHost.clear();
        assertThat(roundTrip(100)).isTrue();
        assertThat(a.ms.pathOf(b.key.publicKey()).relay()).isEqualTo("test");
        PingResult relayed = a.ms.ping(b.key.publicKey(), Duration.ofSeconds(3)).get();
        assertThat(relayed.err()).isNull();
        assertThat(relayed.endpoint()).isEmpty();
        assertThat(relayed.derpRegionId()).isEqualTo(REGION);
        assertThat(relayed.via()).isEqualTo("DERP(test)");

        // 4. Unblock: full pings every 5 s find the path again.
        blocked.clear();
        t0 = System.nanoTime();
        while (a.ms.pathOf(b.key.publicKey()).curAddr().isEmpty()) {
            assertThat(System.nanoTime() - t0).as("upgrade to direct").isLessThan(15_000_000_000L);
            a.tun.fromHost.add(MemoryTun.ipv4(a.ip, b.ip, marker++));
            Thread.sleep(200);
        }
        assertThat(a.ms.ping(b.key.publicKey(), Duration.ofSeconds(3)).get().endpoint()).endsWith(":" + portB);
    }

    @Test
    void discoFromUnknownOrForgedSendersIsIgnored() throws Exception {
        startPair();
        int portA = a.device.transport().port();
        try (DatagramChannel ch = DatagramChannel.open()) {
            ch.bind(new InetSocketAddress("127.0.0.1", 0));
            ch.configureBlocking(false);
            InetSocketAddress to = new InetSocketAddress("127.0.0.1", portA);
            // A stranger's disco key.
            DiscoPrivateKey stranger = DiscoPrivateKey.generate();
            DiscoMessage.Ping ping = new DiscoMessage.Ping(TxId.random(), NodePrivateKey.generate().publicKey());
            ch.send(ByteBuffer.wrap(Disco.seal(ping, stranger.publicKey(), stranger.shared(a.disco.publicKey()))), to);
            // B's disco key claimed, but sealed by someone else: the box does not open.
            ch.send(ByteBuffer.wrap(Disco.seal(ping, b.disco.publicKey(), stranger.shared(a.disco.publicKey()))), to);
            await("both disco packets seen", 3000, () -> a.ms.stats.discoUnknownSender.sum() >= 1 && a.ms.stats.discoBad.sum() >= 1);
            Thread.sleep(300);
            assertThat(ch.receive(ByteBuffer.allocate(2048))).as("no pong to forged pings").isNull();

            // Control: B's real key gets a pong back to the sender's address.
            DiscoMessage.Ping real = new DiscoMessage.Ping(TxId.random(), b.key.publicKey());
            ch.send(ByteBuffer.wrap(Disco.seal(real, b.disco.publicKey(), b.disco.shared(a.disco.publicKey()))), to);
            ByteBuffer buf = ByteBuffer.allocate(2048);
            long deadline = System.nanoTime() + 3_000_000_000L;
            while (ch.receive(buf) == null && System.nanoTime() < deadline) Thread.sleep(10);
            buf.flip();
            byte[] reply = new byte[buf.remaining()];
            buf.get(reply);
            DiscoMessage m = Disco.open(reply, b.disco.shared(a.disco.publicKey()));
            assertThat(m).isInstanceOf(DiscoMessage.Pong.class);
            assertThat(((DiscoMessage.Pong) m).txId()).isEqualTo(real.txId());
            assertThat(((DiscoMessage.Pong) m).src().getPort()).isEqualTo(((InetSocketAddress) ch.getLocalAddress()).getPort());
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void randomBytesNeverThrowOutOfTheHooks(long seed) throws Exception {
        a = new Side("tunA", "100.64.0.1");
        b = new Side("tunB", "100.64.0.2");
        a.ms.setDerpMap(derpMap);
        a.ms.setPeers(List.of(b.node()));
        Random r = new Random(seed);
        byte[] src = Endpoint.of(new InetSocketAddress("127.0.0.1", 9)).sockaddr();
        for (int i = 0; i < 500; i++) {
            byte[] p = new byte[r.nextInt(200)];
            r.nextBytes(p);
            int kind = r.nextInt(4);
            if (kind == 1 && p.length >= 6) System.arraycopy(Disco.MAGIC, 0, p, 0, 6);
            if (kind == 2 && p.length >= 8) { // STUN cookie, top bits clear
                p[0] &= 0x3f;
                p[4] = 0x21; p[5] = 0x12; p[6] = (byte) 0xa4; p[7] = 0x42;
            }
            if (kind == 3 && p.length >= 38) b.disco.publicKey().copyTo(p, 6); // a known sender, garbage box
            if (kind == 3 && p.length >= 6) System.arraycopy(Disco.MAGIC, 0, p, 0, 6);
            int off = p.length == 0 ? 0 : r.nextInt(p.length);
            assertThatCode(() -> a.ms.receiveOther(p, off, p.length - off, src)).doesNotThrowAnyException();
            assertThatCode(() -> a.ms.receiveDerp(REGION, b.key.publicKey(), p)).doesNotThrowAnyException();
        }
    }
}
