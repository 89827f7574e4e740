package dev.lattice.agent.peerapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.dns.MagicDns;
import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.NetPortRange;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.PortRange;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * /dns-query over the peer API on loopback: we are 127.0.0.1 and an exit node (when {@link #offering}); 127.0.0.2 is
 * a node of our user, 127.0.0.3 another user's node the packet filter lets reach the internet. The host's resolver
 * is a loopback DNS server answering 203.0.113.5.
 */
@Timeout(60)
class DnsQueryHandlerTest {
    final AtomicBoolean offering = new AtomicBoolean();
    LoopbackDns hostDns;
    MagicDns magicDns;
    DnsQueryHandler handler;
    PeerApiServer server;
    final List<AutoCloseable> closeables = new ArrayList<>();
    final NetworkMap nm = netmap();

    static NetworkMap netmap() {
        Node self = PeerApiServerTest.node(1, 1, "exit.tail.example.", "127.0.0.1/32");
        List<Node> peers = List.of(PeerApiServerTest.node(2, 1, "mine.tail.example.", "127.0.0.2/32"),
                PeerApiServerTest.node(3, 2, "bobs.tail.example.", "127.0.0.3/32"));
        FilterRule internet = new FilterRule(List.of("127.0.0.3"), null,
                List.of(new NetPortRange("0.0.0.0/0", null, PortRange.ANY)), null, null);
        return new NetworkMap(self, peers, null, null, List.of(internet), Map.of(), "tail.example", null);
    }

    @BeforeEach
    void start() throws Exception {
        hostDns = new LoopbackDns("203.0.113.5");
        closeables.add(hostDns);
        magicDns = new MagicDns(Duration.ofMillis(500));
        closeables.add(magicDns);
        handler = new DnsQueryHandler(magicDns, new DnsProxyPolicy(offering::get), () -> List.of(hostDns.address()));
        server = new PeerApiServer(new PeerApiRoutes().registerPrefix("/dns-query", handler), () -> nm,
                PeerApiServer.Options.defaults());
        closeables.add(server);
        server.listen(List.of(IpPrefix.parseAddress("127.0.0.1")));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeables.reversed()) c.close();
    }

    RawHttp from(String src) throws Exception {
        RawHttp h = new RawHttp(src, new InetSocketAddress("127.0.0.1", server.ports().values().iterator().next()));
        closeables.add(h);
        return h;
    }

    static byte[] query(String name, int type, int id) throws Exception {
        Message m = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        m.getHeader().setID(id);
        return m.toWire();
    }

    static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    static List<String> answers(byte[] msg) throws Exception {
        return new Message(msg).getSection(Section.ANSWER).stream().map(Record::rdataToString).toList();
    }

    @Test
    void getAndPostAreAnsweredByTheHostsResolver() throws Exception {
        RawHttp c = from("127.0.0.2");
        RawHttp.Response get = c.send("GET /dns-query?dns=" + b64(query("www.example.com.", Type.A, 4242))
                + " HTTP/1.1\r\nHost: peer\r\nAccept: application/dns-message", null);
        assertThat(get.status()).isEqualTo(200);
        assertThat(get.header("Content-Type")).isEqualTo("application/dns-message");
        assertThat(answers(get.body())).containsExactly("203.0.113.5");
        assertThat(new Message(get.body()).getHeader().getID()).isEqualTo(4242);

        RawHttp.Response post = c.send("POST /dns-query HTTP/1.1\r\nHost: peer\r\nContent-Type: application/dns-message",
                query("www.example.org.", Type.A, 0));
        assertThat(post.status()).isEqualTo(200);
        assertThat(answers(post.body())).containsExactly("203.0.113.5");
        assertThat(new Message(post.body()).getHeader().getID()).as("RFC 8484's ID 0 stays 0").isZero();

        // tailscale's JSON debug mode.
        RawHttp.Response json = c.send("GET /dns-query?q=www.example.com HTTP/1.1\r\nHost: peer", null);
        assertThat(json.header("Content-Type")).isEqualTo("application/json");
        assertThat(json.text()).isEqualTo("[\"203.0.113.5\"]\n");
        assertThat(c.send("GET /dns-query?q=www.example.com&t=aaaa HTTP/1.1\r\nHost: peer", null).text()).isEqualTo("[]\n");
    }

    @Test
    void onlyPeersThatMayUseUsAsExitNodeAreAnswered() throws Exception {
        String req = "GET /dns-query?dns=" + b64(query("www.example.com.", Type.A, 1)) + " HTTP/1.1\r\nHost: peer";
        RawHttp bob = from("127.0.0.3");
        RawHttp.Response denied = bob.send(req, null);
        assertThat(denied.status()).isEqualTo(403);
        assertThat(denied.text()).isEqualTo("DNS access denied\n");
        assertThat(hostDns.queries.get()).as("nothing was asked upstream").isZero();
        offering.set(true);
        assertThat(bob.send(req, null).status()).as("an exit node the filter lets bob use").isEqualTo(200);
        offering.set(false);
        assertThat(from("127.0.0.2").send(req, null).status()).as("our own user always").isEqualTo(200);
    }

    @Test
    void badRequestsAre400WithTailscalesMessages() throws Exception {
        RawHttp c = from("127.0.0.2");
        record Case(String head, byte[] body, String message) {}
        byte[] good = query("www.example.com.", Type.A, 9);
        List<Case> cases = List.of(
                new Case("GET /dns-query HTTP/1.1\r\nHost: peer", null, "missing ‘dns’ parameter"),
                new Case("GET /dns-query?dns=%25%25%25 HTTP/1.1\r\nHost: peer", null, "invalid 'dns' base64 encoding"),
                new Case("GET /dns-query?dns=" + Base64.getUrlEncoder().encodeToString(new byte[] {1, 2, 3, 4}) + "%3D HTTP/1.1\r\nHost: peer",
                        null, "invalid 'dns' base64 encoding"),
                new Case("GET /dns-query?dns=" + b64("garbage, not DNS".getBytes(StandardCharsets.UTF_8)) + " HTTP/1.1\r\nHost: peer",
                        null, "invalid DNS query"),
                new Case("POST /dns-query HTTP/1.1\r\nHost: peer\r\nContent-Type: text/plain", good, "unexpected Content-Type"),
                new Case("POST /dns-query HTTP/1.1\r\nHost: peer\r\nContent-Type: application/dns-message", new byte[5], "invalid DNS query"),
                new Case("PUT /dns-query HTTP/1.1\r\nHost: peer\r\nContent-Type: application/dns-message", good, "bad HTTP method"));
        for (Case k : cases) {
            RawHttp.Response r = c.send(k.head(), k.body());
            assertThat(r.status()).as(k.head()).isEqualTo(400);
            assertThat(r.text()).as(k.head()).startsWith(k.message());
        }
        assertThat(c.send("GET /dns-query?dns=" + b64(good) + " HTTP/1.1\r\nHost: peer", null).status())
                .as("the connection still serves").isEqualTo(200);
    }

    /** Seeded property test: whatever bytes a peer sends, it gets 200 with a DNS response or 400, never anything else. */
    @ParameterizedTest
    @ValueSource(longs = {11, 12, 13})
    void randomQueriesGetADnsAnswerOr400(long seed) throws Exception {
        Random rnd = new Random(seed);
        byte[] good = query("www.example.com.", Type.A, 77);
        Peer me = PeerApiServer.identify(nm, new InetSocketAddress("127.0.0.2", 50000));
        int ok = 0, bad = 0;
        for (int i = 0; i < 1500; i++) {
            byte[] q;
            if (rnd.nextBoolean()) {
                q = new byte[rnd.nextInt(80)];
                rnd.nextBytes(q);
            } else {
                q = Arrays.copyOf(good, rnd.nextInt(good.length + 8));
                for (int k = rnd.nextInt(4); k > 0 && q.length > 0; k--) q[rnd.nextInt(q.length)] = (byte) rnd.nextInt();
            }
            boolean post = rnd.nextBoolean();
            PeerApiRequest req = post
                    ? new PeerApiRequest("POST", "/dns-query", Map.of(), Map.of("content-type", List.of("application/dns-message")), q, me,
                            new InetSocketAddress("127.0.0.1", 1), nm)
                    : new PeerApiRequest("GET", "/dns-query", Map.of("dns", List.of(rnd.nextInt(10) == 0 ? new String(q, StandardCharsets.ISO_8859_1) : b64(q))),
                            Map.of(), new byte[0], me, new InetSocketAddress("127.0.0.1", 1), nm);
            PeerApiResponse r;
            try {
                r = handler.handle(req).toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError("seed %d case %d (%s %s) threw %s".formatted(seed, i, req.method(), Arrays.toString(q), e), e);
            }
            assertThat(r.status()).as("seed %d case %d: %s", seed, i, Arrays.toString(q)).isIn(200, 400);
            if (r.status() == 200) {
                ok++;
                Message m = new Message(r.body());
                assertThat(m.getHeader().getID()).isEqualTo(((q[0] & 0xff) << 8) | (q[1] & 0xff));
                assertThat(m.getRcode()).isIn(Rcode.NOERROR, Rcode.SERVFAIL, Rcode.FORMERR, Rcode.REFUSED, Rcode.NOTIMP);
            } else {
                bad++;
            }
        }
        assertThat(ok).as("the generator must produce answerable queries").isPositive();
        assertThat(bad).as("and garbage").isPositive();
    }
}
