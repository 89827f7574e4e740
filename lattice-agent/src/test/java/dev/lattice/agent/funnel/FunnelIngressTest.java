package dev.lattice.agent.funnel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.agent.peerapi.Ingress;
import dev.lattice.agent.peerapi.PeerApiRoutes;
import dev.lattice.agent.peerapi.PeerApiServer;
import dev.lattice.agent.testing.EchoServer;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.CapGrant;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.Service;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The ingress against a real peer API on loopback (the node's tailnet address is 127.0.0.1, and the ingress reaches
 * it from there, granted the ingress capability): a connection is routed by its ClientHello's name to the node with
 * Funnel on, which receives the hello and everything after it byte for byte, with the visitor's address and the
 * target name:port; everything else is closed without a byte.
 */
@Timeout(30)
class FunnelIngressTest {
    final List<AutoCloseable> closeables = new ArrayList<>();
    final List<String> targets = new CopyOnWriteArrayList<>();
    final List<InetSocketAddress> visitors = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closeables.reversed()) c.close();
    }

    static Node node(long id, String name, String addr, Hostinfo h) {
        return Node.builder().id(id).user(1L).name(name).addresses(List.of(IpPrefix.parse(addr))).hostinfo(h).build();
    }

    /** The peer API of "me" on 127.0.0.1 whose Funnel backend echoes, and an ingress that knows it as a peer. */
    FunnelIngress start(FunnelIngress.Options options) throws IOException {
        ServerSocket echo = EchoServer.start();
        closeables.add(echo);
        FilterRule grant = new FilterRule(List.of("127.0.0.1"), null, null, null, List.of(new CapGrant(
                List.of(IpPrefix.parse("127.0.0.1/32")), null, Map.of(PeerApiServer.CAP_INGRESS, List.of()))));
        NetworkMap nodeSide = new NetworkMap(node(1, "me.tail.example.", "127.0.0.1/32", null), List.of(), null, null,
                List.of(grant), Map.of(), "tail.example", null);
        PeerApiServer api = new PeerApiServer(new PeerApiRoutes(), () -> nodeSide, PeerApiServer.Options.defaults());
        closeables.add(api);
        api.ingress(new Ingress() {
            @Override
            public InetSocketAddress backend(String target) {
                targets.add(target);
                return target.startsWith("me.tail.example:") ? (InetSocketAddress) echo.getLocalSocketAddress() : null;
            }

            @Override
            public AutoCloseable connected(int localPort, InetSocketAddress src) {
                visitors.add(src);
                return () -> {};
            }
        });
        api.listen(List.of(InetAddress.getLoopbackAddress()));
        int port = api.ports().values().iterator().next();
        Hostinfo on = Hostinfo.empty().withServices(List.of(new Service("peerapi4", port, null))).with("IngressEnabled", true);
        Hostinfo off = Hostinfo.empty().withServices(List.of(new Service("peerapi4", port, null)));
        NetworkMap ingressSide = new NetworkMap(node(9, "ingress.tail.example.", "127.0.0.2/32", null),
                List.of(node(1, "me.tail.example.", "127.0.0.1/32", on), node(2, "off.tail.example.", "127.0.0.1/32", off)),
                null, null, List.of(), Map.of(), "tail.example", null);
        FunnelIngress f = FunnelIngress.start(List.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)), () -> ingressSide, options);
        closeables.add(f);
        return f;
    }

    Socket visit(FunnelIngress f) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.5"), 0));
        s.connect(f.addresses().getFirst(), 2000);
        s.setSoTimeout(10_000);
        closeables.add(s);
        return s;
    }

    @Test
    void theHelloAndWhatFollowsReachTheNodeOfThatName() throws Exception {
        FunnelIngress f = start(FunnelIngress.Options.defaults());
        byte[] hello = ClientHelloTest.hello("ME.tail.example", "TLSv1.3");
        Socket s = visit(f);
        OutputStream o = s.getOutputStream();
        // in two pieces, as a slow network may deliver it
        o.write(hello, 0, 10);
        o.flush();
        Thread.sleep(50);
        o.write(hello, 10, hello.length - 10);
        o.write("and then the rest".getBytes(StandardCharsets.US_ASCII));
        o.flush();
        byte[] want = Arrays.copyOf(hello, hello.length + 17);
        System.arraycopy("and then the rest".getBytes(StandardCharsets.US_ASCII), 0, want, hello.length, 17);
        assertThat(s.getInputStream().readNBytes(want.length)).isEqualTo(want);
        assertThat(targets).containsExactly("me.tail.example:" + f.addresses().getFirst().getPort());
        assertThat(visitors).containsExactly(new InetSocketAddress(InetAddress.getByName("127.0.0.5"), s.getLocalPort()));
        assertThat(f.stats().connections(FunnelIngress.Result.ACCEPTED)).isEqualTo(1);
        // counted right after each write, so a moment after the echo arrives
        await(() -> f.stats().bytesFromVisitors.sum() == want.length);
        await(() -> f.stats().bytesToVisitors.sum() == want.length); // the backend echoes
        io.prometheus.metrics.model.registry.PrometheusRegistry reg = new io.prometheus.metrics.model.registry.PrometheusRegistry();
        f.registerMetrics(reg);
        java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
        io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter.create().write(text, reg.scrape());
        assertThat(text.toString(StandardCharsets.UTF_8))
                .contains("latticed_funnel_ingress_connections_total{result=\"accepted\"} 1.0")
                .contains("latticed_funnel_ingress_connections_total{result=\"no_funnel\"} 0.0")
                .contains("latticed_funnel_ingress_bytes_total{direction=\"from_visitors\"} " + want.length + ".0");
    }

    @Test
    void everythingElseIsClosedWithoutAByte() throws Exception {
        FunnelIngress f = start(FunnelIngress.Options.defaults());
        List<byte[]> bad = List.of(
                ClientHelloTest.hello("nobody.tail.example", "TLSv1.3"),   // no such node
                ClientHelloTest.hello("off.tail.example", "TLSv1.3"),      // a node without Funnel on
                ClientHelloTest.hello(null, "TLSv1.3"),                    // no name
                "GET / HTTP/1.1\r\nHost: me.tail.example\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        for (byte[] b : bad) {
            Socket s = visit(f);
            s.getOutputStream().write(b);
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            assertThat(in.read()).isEqualTo(-1);
        }
        assertThat(visitors).isEmpty();
        assertThat(targets).isEmpty();
        FunnelIngress.Stats st = f.stats();
        await(() -> st.connections(FunnelIngress.Result.NOT_TLS) == 1);
        assertThat(st.connections(FunnelIngress.Result.NO_FUNNEL)).isEqualTo(2);
        assertThat(st.connections(FunnelIngress.Result.NO_NAME)).isEqualTo(1);
        assertThat(st.connections(FunnelIngress.Result.ACCEPTED)).isZero();
        assertThat(st.bytesFromVisitors.sum()).isZero();
    }

    /** Counters are bumped just before the close a test waits for; this waits for the bump to be seen. */
    static void await(java.util.function.BooleanSupplier cond) throws InterruptedException {
        for (int i = 0; i < 200 && !cond.getAsBoolean(); i++) Thread.sleep(10);
        assertThat(cond.getAsBoolean()).isTrue();
    }

    @Test
    void aHelloTrickledByteByByteIsGivenUp() throws Exception {
        FunnelIngress f = start(FunnelIngress.Options.defaults());
        byte[] hello = ClientHelloTest.hello("me.tail.example", "TLSv1.3");
        Socket s = visit(f);
        s.setTcpNoDelay(true);
        OutputStream o = s.getOutputStream();
        try {
            for (int i = 0; i < hello.length; i++) {
                o.write(hello[i]);
                o.flush();
                Thread.sleep(2); // separate segments, so separate reads
            }
        } catch (IOException closed) {
            // the ingress gave up before the end
        }
        assertThat(s.getInputStream().read()).isEqualTo(-1);
        assertThat(visitors).isEmpty();
    }

    @Test
    void aSilentClientIsClosedAfterTheHandshakeTimeout() throws Exception {
        FunnelIngress f = start(new FunnelIngress.Options(Duration.ofMillis(300), 16, 4));
        Socket s = visit(f);
        long t0 = System.nanoTime();
        assertThat(s.getInputStream().read()).isEqualTo(-1);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        await(() -> f.stats().connections(FunnelIngress.Result.NOT_TLS) == 1);
    }

    @Test
    void oneSourceMayHoldOnlySoManyConnections() throws Exception {
        FunnelIngress f = start(new FunnelIngress.Options(Duration.ofSeconds(5), 16, 2));
        Socket a = visit(f), b = visit(f), c = visit(f);
        assertThat(c.getInputStream().read()).as("the third from one address").isEqualTo(-1);
        await(() -> f.stats().connections(FunnelIngress.Result.TOO_MANY) == 1);
        byte[] hello = ClientHelloTest.hello("me.tail.example", "TLSv1.3");
        a.getOutputStream().write(hello);
        assertThat(a.getInputStream().readNBytes(hello.length)).isEqualTo(hello);
        b.close();
    }
}
