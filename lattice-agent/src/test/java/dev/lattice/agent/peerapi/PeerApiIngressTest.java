package dev.lattice.agent.peerapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.agent.testing.EchoServer;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.CapGrant;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.UserProfile;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code /v0/ingress} on the peer API (tailscale's {@code handleServeIngress}): only a peer the packet filter's
 * CapGrant gives {@code https://tailscale.com/cap/ingress} (127.0.0.2 here; 127.0.0.3 has none) may send Funnel
 * connections; bad requests get tailscale's answers; an accepted one gets a bare 101 and then carries raw bytes both
 * ways to the serve listener, which learns the internet client's address.
 */
@Timeout(30)
class PeerApiIngressTest {
    static final String TARGET = "me.tail.example:443";
    final List<AutoCloseable> closeables = new ArrayList<>();
    final Map<Integer, InetSocketAddress> sources = new ConcurrentHashMap<>();
    final List<Integer> released = new CopyOnWriteArrayList<>();
    ServerSocket echo;

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closeables.reversed()) c.close();
    }

    static NetworkMap netmap() {
        FilterRule grant = new FilterRule(List.of("127.0.0.2"), null, null, null, List.of(new CapGrant(
                List.of(IpPrefix.parse("127.0.0.1/32")), null, Map.of(PeerApiServer.CAP_INGRESS, List.of()))));
        FilterRule elsewhere = new FilterRule(List.of("127.0.0.3"), null, null, null, List.of(new CapGrant(
                List.of(IpPrefix.parse("127.0.0.9/32")), null, Map.of(PeerApiServer.CAP_INGRESS, List.of()))));
        return new NetworkMap(PeerApiServerTest.node(1, 1, "me.tail.example.", "127.0.0.1/32"),
                List.of(PeerApiServerTest.node(2, 2, "ingress.tail.example.", "127.0.0.2/32"),
                        PeerApiServerTest.node(3, 1, "laptop.tail.example.", "127.0.0.3/32")),
                null, null, List.of(grant, elsewhere),
                Map.of(1L, new UserProfile(1L, "alice@example.com", "Alice", null, null)), "tail.example", null);
    }

    PeerApiServer started() throws IOException {
        return started(PeerApiServer.Options.defaults());
    }

    PeerApiServer started(PeerApiServer.Options options) throws IOException {
        echo = EchoServer.start();
        closeables.add(echo);
        PeerApiServer s = new PeerApiServer(new PeerApiRoutes(), PeerApiIngressTest::netmap, options);
        closeables.add(s);
        s.ingress(new Ingress() {
            @Override
            public InetSocketAddress backend(String target) {
                return target.equals(TARGET) ? (InetSocketAddress) echo.getLocalSocketAddress() : null;
            }

            @Override
            public AutoCloseable connected(int localPort, InetSocketAddress src) {
                sources.put(localPort, src);
                return () -> released.add(localPort);
            }
        });
        assertThat(s.listen(List.of(IpPrefix.parseAddress("127.0.0.1")))).isTrue();
        return s;
    }

    RawHttp from(String src, PeerApiServer s) throws IOException {
        RawHttp h = new RawHttp(src, new InetSocketAddress("127.0.0.1", s.ports().values().iterator().next()));
        closeables.add(h);
        return h;
    }

    static String ingress(PeerApiServer s, String method, String src, String target) {
        StringBuilder b = new StringBuilder(method + " /v0/ingress HTTP/1.1\r\nHost: 127.0.0.1:" + s.ports().values().iterator().next());
        if (src != null) b.append("\r\nTailscale-Ingress-Src: ").append(src);
        if (target != null) b.append("\r\nTailscale-Ingress-Target: ").append(target);
        return b.toString();
    }

    @Test
    void theIngressGetsA101AndABytePipeToTheServeListener() throws Exception {
        PeerApiServer s = started();
        RawHttp c = from("127.0.0.2", s);
        c.write(ingress(s, "POST", "203.0.113.9:4444", TARGET), new byte[0]);
        byte[] head = c.socket.getInputStream().readNBytes("HTTP/1.1 101 Switching Protocols\r\n\r\n".length());
        assertThat(new String(head, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 101 Switching Protocols\r\n\r\n");
        // from here on it is a byte stream, TLS in real life: no HTTP framing, no deadline
        byte[] junk = new byte[100_000];
        new java.util.Random(7).nextBytes(junk);
        Thread.ofVirtual().start(() -> {
            try {
                c.socket.getOutputStream().write(junk);
                c.socket.getOutputStream().flush();
            } catch (IOException ignored) {
                // the read below fails then
            }
        });
        assertThat(c.socket.getInputStream().readNBytes(junk.length)).isEqualTo(junk);
        assertThat(sources.values()).containsExactly(new InetSocketAddress(InetAddress.getByName("203.0.113.9"), 4444));
        c.close();
        long end = System.nanoTime() + 5_000_000_000L;
        while (released.isEmpty() && System.nanoTime() < end) Thread.sleep(20);
        assertThat(released).as("the client's name is forgotten when the connection ends").containsExactlyElementsOf(sources.keySet());
    }

    @Test
    void relaysDoNotCountAgainstTheIngresssPerPeerCap() throws Exception {
        PeerApiServer s = started(new PeerApiServer.Options(dev.lattice.guard.Limits.builder().maxAnonymousPerSource(2).build(),
                java.time.Duration.ofSeconds(5)));
        List<RawHttp> open = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            RawHttp c = from("127.0.0.2", s);
            c.write(ingress(s, "POST", "203.0.113.9:" + (1000 + i), TARGET), new byte[0]);
            assertThat(new String(c.socket.getInputStream().readNBytes(36), StandardCharsets.US_ASCII))
                    .as("relay %d", i).isEqualTo("HTTP/1.1 101 Switching Protocols\r\n\r\n");
            open.add(c);
        }
        for (RawHttp c : open) {
            c.socket.getOutputStream().write('x');
            assertThat(c.socket.getInputStream().read()).isEqualTo('x');
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        "no capability (another peer)  | 127.0.0.3 | POST | 203.0.113.9:1 | me.tail.example:443 | 403 | denied; no ingress cap",
        "GET                           | 127.0.0.2 | GET  | 203.0.113.9:1 | me.tail.example:443 | 405 | only POST allowed",
        "no source                     | 127.0.0.2 | POST | -             | me.tail.example:443 | 400 | Tailscale-Ingress-Src header not set",
        "source without port           | 127.0.0.2 | POST | 203.0.113.9   | me.tail.example:443 | 400 | Tailscale-Ingress-Src header invalid; want ip:port",
        "source is a name              | 127.0.0.2 | POST | example.com:1 | me.tail.example:443 | 400 | Tailscale-Ingress-Src header invalid; want ip:port",
        "no target                     | 127.0.0.2 | POST | 203.0.113.9:1 | -                   | 400 | Tailscale-Ingress-Target header not set",
        "target without port           | 127.0.0.2 | POST | 203.0.113.9:1 | me.tail.example     | 400 | Tailscale-Ingress-Target header invalid; want host:port",
        "target not funneled           | 127.0.0.2 | POST | 203.0.113.9:1 | me.tail.example:8443 | 403 | denied",
    })
    void refusals(String name, String from, String method, String src, String target, int status, String body) throws Exception {
        PeerApiServer s = started();
        RawHttp.Response r = from(from, s).send(ingress(s, method, src, target), new byte[0]);
        assertThat(r.status()).isEqualTo(status);
        assertThat(r.text()).isEqualTo(body + "\n");
        assertThat(sources).isEmpty();
    }
}
