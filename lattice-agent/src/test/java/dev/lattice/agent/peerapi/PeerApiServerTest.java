package dev.lattice.agent.peerapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.guard.Limits;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.Service;
import dev.lattice.wire.tailcfg.UserProfile;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The peer API server on loopback: the "tailnet" is 127.0.0.1 (us), 127.0.0.2 (a node of our user) and 127.0.0.3
 * (another user's node); tests connect from those source addresses, and from 127.0.0.9, which is nobody.
 */
@Timeout(30)
class PeerApiServerTest {
    static final long ALICE = 1, BOB = 2;
    final List<AutoCloseable> closeables = new ArrayList<>();
    final AtomicReference<NetworkMap> netmap = new AtomicReference<>(netmap(true));

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closeables.reversed()) c.close();
    }

    static Node node(long id, long user, String name, String... addrs) {
        return Node.builder().id(id).user(user).name(name).addresses(Arrays.stream(addrs).map(IpPrefix::parse).toList()).build();
    }

    static NetworkMap netmap(boolean withBob) {
        List<Node> peers = new ArrayList<>(List.of(node(2, ALICE, "laptop.tail.example.", "127.0.0.2/32")));
        if (withBob) peers.add(node(3, BOB, "bobs-pc.tail.example.", "127.0.0.3/32"));
        return new NetworkMap(node(1, ALICE, "me.tail.example.", "127.0.0.1/32", "::1/128"), peers, null, null, List.of(),
                Map.of(ALICE, new UserProfile(ALICE, "alice@example.com", "Alice <script>", null, null),
                        BOB, new UserProfile(BOB, "bob@example.com", "Bob", null, null)), "tail.example", null);
    }

    PeerApiServer server(PeerApiRoutes routes, PeerApiServer.Options options) {
        PeerApiServer s = new PeerApiServer(routes, netmap::get, options);
        closeables.add(s);
        return s;
    }

    PeerApiServer started(PeerApiRoutes routes) {
        PeerApiServer s = server(routes, PeerApiServer.Options.defaults());
        assertThat(s.listen(List.of(IpPrefix.parseAddress("127.0.0.1")))).isTrue();
        return s;
    }

    InetSocketAddress addr(PeerApiServer s) {
        return new InetSocketAddress("127.0.0.1", s.ports().get(IpPrefix.parseAddress("127.0.0.1")));
    }

    RawHttp from(String src, PeerApiServer s) throws IOException {
        RawHttp h = new RawHttp(src, addr(s));
        closeables.add(h);
        return h;
    }

    static String get(String path, PeerApiServer s, String... headers) {
        StringBuilder b = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + s.ports().values().iterator().next());
        for (String h : headers) b.append("\r\n").append(h);
        return b.toString();
    }

    @Test
    void servesTheTailnetsNodesAndClosesOnEveryoneElse() throws Exception {
        PeerApiServer s = started(new PeerApiRoutes());
        RawHttp stranger = from("127.0.0.9", s);
        assertThat(stranger.closedByServer()).as("a source that is no node of the netmap").isTrue();

        RawHttp.Response mine = from("127.0.0.2", s).send(get("/", s), null);
        assertThat(mine.status()).isEqualTo(200);
        assertThat(mine.header("Content-Type")).isEqualTo("text/html; charset=utf-8");
        assertThat(mine.text()).contains("Hello, Alice &lt;script&gt; (127.0.0.2)").contains("laptop.tail.example")
                .contains("You are the owner of this node");
        RawHttp.Response bobs = from("127.0.0.3", s).send(get("/", s), null);
        assertThat(bobs.text()).contains("Hello, Bob (127.0.0.3)").doesNotContain("owner");
    }

    @Test
    void routesAreToldWhichPeerIsAsking() throws Exception {
        PeerApiRoutes routes = new PeerApiRoutes().register("/v0/whoami", r -> CompletableFuture.completedFuture(
                PeerApiResponse.ok("text/plain", (r.peer().displayName() + " same=" + r.peer().sameUser() + " q=" + r.param("q")
                        + " local=" + r.local().getAddress().getHostAddress()).getBytes(StandardCharsets.UTF_8))));
        PeerApiServer s = started(routes);
        assertThat(from("127.0.0.2", s).send(get("/v0/whoami?q=a%20b", s), null).text())
                .isEqualTo("laptop.tail.example same=true q=a b local=127.0.0.1");
        assertThat(from("127.0.0.3", s).send(get("/v0/whoami", s), null).text())
                .isEqualTo("bobs-pc.tail.example same=false q=null local=127.0.0.1");
    }

    @Test
    void requestsABrowserPageCouldMakeAreRefused() throws Exception {
        PeerApiServer s = started(new PeerApiRoutes());
        int port = addr(s).getPort();
        RawHttp c = from("127.0.0.2", s);
        record Case(String head, int status) {}
        List<Case> cases = List.of(
                new Case(get("/", s), 200),
                new Case("GET / HTTP/1.1\r\nHost: peer", 200),
                new Case(get("/", s, "Referer: http://evil.example/"), 403),
                new Case(get("/", s, "Origin: http://evil.example"), 403),
                new Case("GET / HTTP/1.1\r\nHost: evil.example:" + port, 403), // DNS rebinding
                new Case("GET / HTTP/1.1\r\nHost: 127.0.0.5:" + port, 403), // not one of our addresses
                new Case("GET / HTTP/1.1\r\nHost: 127.0.0.1", 403), // no port
                new Case("GET / HTTP/1.1\r\nHost: [::1]:" + port, 200),
                new Case("GET / HTTP/1.1\r\nHost: [::2]:" + port, 403));
        for (Case k : cases) {
            RawHttp.Response r = c.send(k.head(), null);
            assertThat(r.status()).as(k.head()).isEqualTo(k.status());
            if (k.status() == 403) assertThat(r.text()).isEqualTo("invalid peerapi request\n");
        }
    }

    @Test
    void browsersGetSecurityHeadersGoClientsDoNot() throws Exception {
        PeerApiServer s = started(new PeerApiRoutes());
        RawHttp c = from("127.0.0.2", s);
        assertThat(c.send(get("/", s, "User-Agent: Go-http-client/1.1"), null).header("X-Frame-Options")).isNull();
        RawHttp.Response b = c.send(get("/", s, "User-Agent: Mozilla/5.0 (X11; Linux x86_64)"), null);
        assertThat(b.header("X-Frame-Options")).isEqualTo("DENY");
        assertThat(b.header("Content-Security-Policy")).startsWith("default-src 'none'");
        assertThat(c.send(get("/", s, "Accept-Encoding: gzip, deflate"), null).header("X-Content-Type-Options")).isEqualTo("nosniff");
        assertThat(c.send(get("/", s, "Accept-Language: en"), null).header("X-Frame-Options")).isEqualTo("DENY");
    }

    @Test
    void unknownPathsAre404FailingHandlers500OversizedBodies413() throws Exception {
        PeerApiRoutes routes = new PeerApiRoutes()
                .register("/v0/boom", r -> {
                    throw new IllegalStateException("secret detail");
                })
                .register("/v0/failed", r -> CompletableFuture.failedFuture(new IOException("x")))
                .register("/v0/echo", r -> CompletableFuture.completedFuture(PeerApiResponse.ok("application/octet-stream", r.body())));
        PeerApiServer s = started(routes);
        RawHttp c = from("127.0.0.2", s);
        RawHttp.Response nf = c.send(get("/v0/nothing", s), null);
        assertThat(nf.status()).isEqualTo(404);
        assertThat(nf.text()).isEqualTo("unsupported peerapi path\n");
        RawHttp.Response boom = c.send(get("/v0/boom", s), null);
        assertThat(boom.status()).isEqualTo(500);
        assertThat(boom.text()).doesNotContain("secret");
        assertThat(c.send(get("/v0/failed", s), null).status()).isEqualTo(500);
        byte[] small = new byte[1000];
        assertThat(c.send("POST /v0/echo HTTP/1.1\r\nHost: peer", small).body()).isEqualTo(small);
        RawHttp.Response big = c.send("POST /v0/echo HTTP/1.1\r\nHost: peer", new byte[70 << 10]);
        assertThat(big.status()).isEqualTo(413);
    }

    @Test
    void slowHandlersGet500AfterTheTimeout() throws Exception {
        PeerApiRoutes routes = new PeerApiRoutes().register("/v0/never", r -> new CompletableFuture<>());
        PeerApiServer s = server(routes, new PeerApiServer.Options(PeerApiServer.Options.defaults().limits(), Duration.ofMillis(300)));
        s.listen(List.of(IpPrefix.parseAddress("127.0.0.1")));
        RawHttp.Response r = from("127.0.0.2", s).send(get("/v0/never", s), null);
        assertThat(r.status()).isEqualTo(500);
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        PeerApiRoutes routes = new PeerApiRoutes()
                .register("/v0/slow", r -> CompletableFuture.supplyAsync(() -> PeerApiResponse.ok("text/plain", "slow".getBytes()),
                        CompletableFuture.delayedExecutor(300, java.util.concurrent.TimeUnit.MILLISECONDS)))
                .register("/v0/fast", r -> CompletableFuture.completedFuture(PeerApiResponse.ok("text/plain", "fast".getBytes())));
        PeerApiServer s = started(routes);
        RawHttp c = from("127.0.0.2", s);
        c.write(get("/v0/slow", s) + "\r\n\r\n" + get("/v0/fast", s), null);
        assertThat(c.read().text()).isEqualTo("slow");
        assertThat(c.read().text()).isEqualTo("fast");
    }

    @Test
    void aPeerThatLeavesTheNetmapIsCutOff() throws Exception {
        PeerApiServer s = started(new PeerApiRoutes());
        RawHttp bob = from("127.0.0.3", s);
        assertThat(bob.send(get("/", s), null).status()).isEqualTo(200);
        netmap.set(netmap(false));
        bob.write(get("/", s), null);
        assertThat(bob.read()).as("no answer to a node that is no longer a peer").isNull();
        assertThat(from("127.0.0.3", s).closedByServer()).isTrue();
    }

    @Test
    void connectionsPerPeerAreCapped() throws Exception {
        Limits l = Limits.builder().maxAnonymousPerSource(2).build();
        PeerApiServer s = server(new PeerApiRoutes(), new PeerApiServer.Options(l, Duration.ofSeconds(5)));
        s.listen(List.of(IpPrefix.parseAddress("127.0.0.1")));
        RawHttp a = from("127.0.0.2", s), b = from("127.0.0.2", s);
        assertThat(a.send(get("/", s), null).status()).isEqualTo(200);
        assertThat(b.send(get("/", s), null).status()).isEqualTo(200);
        assertThat(from("127.0.0.2", s).closedByServer()).as("a third connection from the same peer").isTrue();
        assertThat(from("127.0.0.3", s).send(get("/", s), null).status()).as("another peer is not affected").isEqualTo(200);
    }

    @Test
    void listenTakesTheStablePortOrTheNextAndRebindsOnlyOnChange() throws Exception {
        InetAddress lo = IpPrefix.parseAddress("127.0.0.1"), lo6 = IpPrefix.parseAddress("::1");
        int first = PeerApiServices.stablePort(lo, 0);
        ServerSocket taken;
        try {
            taken = new ServerSocket(first, 1, lo);
        } catch (IOException e) {
            taken = null;
        }
        assumeTrue(taken != null, "port " + first + " is in use here");
        closeables.add(taken);
        PeerApiServer s = server(new PeerApiRoutes(), PeerApiServer.Options.defaults());
        assertThat(s.services()).as("nothing listens yet").isEmpty();
        assertThat(s.listen(List.of(lo))).isTrue();
        assertThat(s.ports()).containsEntry(lo, PeerApiServices.stablePort(lo, 1));
        assertThat(s.listen(List.of(lo))).as("same addresses: nothing to do").isFalse();
        assertThat(s.listen(List.of(lo, lo6))).isTrue();
        int p6 = s.ports().get(lo6);
        assertThat(p6).isEqualTo(PeerApiServices.stablePort(lo6, 0));
        assertThat(s.services()).containsExactly(new Service("peerapi4", PeerApiServices.stablePort(lo, 1), null),
                new Service("peerapi6", p6, null), new Service("peerapi-dns-proxy", 1, null));
        assertThat(s.stop()).isTrue();
        assertThat(s.ports()).isEmpty();
        assertThat(s.services()).isEmpty();
    }

    @Test
    void listensOnAnAddressNoInterfaceHasYet() {
        assumeTrue(io.netty.channel.epoll.Epoll.isAvailable(), "IP_FREEBIND needs Netty's epoll transport");
        InetAddress tailnet = IpPrefix.parseAddress("100.64.0.1");
        PeerApiServer s = server(new PeerApiRoutes(), PeerApiServer.Options.defaults());
        assertThat(s.listen(List.of(tailnet))).isTrue();
        assertThat(s.ports()).containsEntry(tailnet, PeerApiServices.stablePort(tailnet, 0));
    }
}
