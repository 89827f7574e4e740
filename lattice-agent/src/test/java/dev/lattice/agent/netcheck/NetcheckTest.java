package dev.lattice.agent.netcheck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.ipn.NetcheckReport;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.server.DerpServer;
import dev.lattice.derp.standalone.StandaloneDerper;
import dev.lattice.derp.stun.StunServer;
import dev.lattice.wire.stun.Stun;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DERPNode;
import dev.lattice.wire.tailcfg.DERPRegion;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Netcheck against in-process STUN servers and a DERP server on loopback. */
class NetcheckTest {
    final List<AutoCloseable> closeables = new java.util.ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables.reversed()) c.close();
    }

    StunServer stun(String ip) throws Exception {
        StunServer s = StunServer.start(new InetSocketAddress(ip, 0));
        closeables.add(s);
        return s;
    }

    static DERPRegion region(int id, String code, DERPNode... nodes) {
        return new DERPRegion(id, code, code, null, null, null, null, List.of(nodes));
    }

    static DERPNode stunNode(int region, String name, InetSocketAddress a) {
        return DERPNode.builder().name(name).regionId(region).hostName(a.getHostString()).ipv4(a.getHostString())
                .stunPort(a.getPort()).build();
    }

    @Test
    void reportsUdpTheMappedAddressAndTheRegionLatencyFromStun() throws Exception {
        StunServer s = stun("127.0.0.1");
        DERPMap map = new DERPMap(null, Map.of(900, region(900, "test", stunNode(900, "900a", s.boundAddress()))), null);
        NetcheckReport r = Netcheck.standalone(map, Duration.ofSeconds(2), true);
        assertThat(r.udp()).isTrue();
        assertThat(r.ipv4()).isTrue();
        assertThat(r.globalV4()).startsWith("127.0.0.1:");
        assertThat(r.regionLatencySeconds()).containsOnlyKeys(900);
        assertThat(r.regionLatencySeconds().get(900)).isPositive().isLessThan(2.0);
        assertThat(r.regionV4LatencySeconds()).containsKey(900);
        assertThat(r.preferredDerp()).isEqualTo(900);
        assertThat(r.mappingVariesByDestIp()).as("one server cannot tell").isNull();
        assertThat(s.answered()).isPositive();
    }

    @Test
    void twoStunServersAtDifferentIpsSeeTheSameMappingWithoutNat() throws Exception {
        StunServer s1 = stun("127.0.0.1");
        StunServer s2 = stun("127.0.0.2");
        Map<Integer, DERPRegion> regions = new LinkedHashMap<>();
        regions.put(900, region(900, "one", stunNode(900, "900a", s1.boundAddress())));
        regions.put(901, region(901, "two", stunNode(901, "901a", s2.boundAddress())));
        NetcheckReport r = Netcheck.standalone(new DERPMap(null, regions, null), Duration.ofSeconds(2), true);
        assertThat(r.regionLatencySeconds()).containsOnlyKeys(900, 901);
        assertThat(r.mappingVariesByDestIp()).isFalse();
        assertThat(r.preferredDerp()).isIn(900, 901);
    }

    @Test
    void aRegionWithoutStunIsTimedOverHttpAndASilentOneIsLeftOut() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        closeables.add(() -> group.shutdownGracefully(0, 1, TimeUnit.SECONDS));
        StandaloneDerper derper = StandaloneDerper.start(new DerpServer(NodePrivateKey.generate()),
                new InetSocketAddress("127.0.0.1", 0), null, group);
        closeables.add(derper);
        int silentPort;
        try (DatagramSocket d = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            silentPort = d.getLocalPort(); // closed again: nothing answers there
        }
        Map<Integer, DERPRegion> regions = new LinkedHashMap<>();
        regions.put(902, region(902, "http", DERPNode.builder().name("902a").regionId(902).hostName("127.0.0.1")
                .stunPort(-1).derpPort(derper.boundAddress().getPort()).build()));
        regions.put(903, region(903, "silent", DERPNode.builder().name("903a").regionId(903).hostName("127.0.0.1")
                .ipv4("127.0.0.1").stunPort(silentPort).stunOnly(true).build()));
        NetcheckReport r = Netcheck.standalone(new DERPMap(null, regions, null), Duration.ofMillis(600), true);
        assertThat(r.udp()).isFalse();
        assertThat(r.globalV4()).isEmpty();
        assertThat(r.regionLatencySeconds()).containsOnlyKeys(902);
        assertThat(r.preferredDerp()).isEqualTo(902);
    }

    @Test
    void mappingVariesWhenTwoServersSeeDifferentPorts() throws Exception {
        InetAddress s1 = InetAddress.getByName("192.0.2.1"), s2 = InetAddress.getByName("192.0.2.2");
        InetSocketAddress m1 = new InetSocketAddress("198.51.100.1", 1000);
        InetSocketAddress m2 = new InetSocketAddress("198.51.100.1", 2000);
        assertThat(Netcheck.mappingVaries(Map.of(s1, m1, s2, m2))).isTrue();
        assertThat(Netcheck.mappingVaries(Map.of(s1, m1, s2, m1))).isFalse();
        assertThat(Netcheck.mappingVaries(Map.of(s1, m1))).isNull();
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4})
    void randomBytesAreNotStunRepliesAndNeverThrow(long seed) {
        Netcheck nc = new Netcheck((p, to) -> true, System::nanoTime, true);
        Random r = new Random(seed);
        for (int i = 0; i < 2000; i++) {
            byte[] p = new byte[r.nextInt(120)];
            r.nextBytes(p);
            if (p.length >= 8 && r.nextBoolean()) { // looks like STUN: header bits and cookie
                p[0] &= 0x3f;
                p[4] = 0x21; p[5] = 0x12; p[6] = (byte) 0xa4; p[7] = 0x42;
            }
            int off = p.length == 0 ? 0 : r.nextInt(p.length);
            assertThat(nc.receive(p, off, p.length - off)).isFalse();
        }
        // A well-formed reply to a request we never sent is not ours either.
        byte[] stray = Stun.response(Stun.TxId.random(), new InetSocketAddress("127.0.0.1", 5));
        assertThat(nc.receive(stray, 0, stray.length)).isFalse();
    }
}
