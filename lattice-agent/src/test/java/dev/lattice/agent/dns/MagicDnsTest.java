package dev.lattice.agent.dns;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.DNSConfig;
import dev.lattice.wire.tailcfg.DNSRecord;
import dev.lattice.wire.tailcfg.DNSResolver;
import dev.lattice.wire.tailcfg.Node;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

class MagicDnsTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closeables) c.close();
    }

    static Node node(long id, String name, String... addrs) {
        return Node.builder().id(id).name(name).addresses(Arrays.stream(addrs).map(IpPrefix::parse).toList()).build();
    }

    static NetworkMap netmap(DNSConfig dns) {
        return new NetworkMap(node(1, "self.tail.example.", "100.64.0.1/32", "fd7a:115c:a1e0::1/128"),
                List.of(node(2, "peer.tail.example.", "100.64.0.2/32", "fd7a:115c:a1e0::2/128"),
                        node(3, "v6only.tail.example.", "fd7a:115c:a1e0::3/128")),
                dns, null, List.of(), Map.of(), "tail.example", null);
    }

    static DNSResolver res(String addr) {
        return new DNSResolver(addr, null, null);
    }

    static Upstream udp(String ip, int port) {
        return new Upstream.Udp(new InetSocketAddress(ip, port));
    }

    MagicDns dns(MagicDnsConfig cfg) {
        MagicDns d = new MagicDns(Duration.ofMillis(300));
        closeables.add(d);
        d.setConfig(cfg);
        return d;
    }

    static byte[] query(String name, int type) throws Exception {
        Message m = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        return m.toWire();
    }

    static Message ask(MagicDns d, String name, int type) throws Exception {
        byte[] q = query(name, type);
        byte[] r = d.handle(q).get(5, TimeUnit.SECONDS);
        Message m = new Message(r);
        assertThat(m.getHeader().getID()).isEqualTo(new Message(q).getHeader().getID());
        assertThat(m.getHeader().getFlag(Flags.QR)).isTrue();
        return m;
    }

    static List<String> answers(Message m) {
        return m.getSection(Section.ANSWER).stream().map(Record::rdataToString).toList();
    }

    @Test
    void tailnetNamesResolveLocally() throws Exception {
        MagicDns d = dns(MagicDnsConfig.from(netmap(DNSConfig.builder().proxied(true)
                .extraRecords(List.of(new DNSRecord("db.tail.example", null, "100.64.0.9"))).build())));
        assertThat(answers(ask(d, "peer.tail.example.", Type.A))).containsExactly("100.64.0.2");
        assertThat(answers(ask(d, "PEER.Tail.Example.", Type.A))).containsExactly("100.64.0.2");
        assertThat(answers(ask(d, "db.tail.example.", Type.A))).containsExactly("100.64.0.9");
        // Peers' IPv6 is left out while we have IPv4 (tailscale without the magicdns-aaaa attribute) ...
        Message aaaa = ask(d, "peer.tail.example.", Type.AAAA);
        assertThat(aaaa.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(answers(aaaa)).isEmpty();
        assertThat(aaaa.getSection(Section.AUTHORITY)).hasSize(1);
        // ... but an IPv6-only peer has its address.
        assertThat(answers(ask(d, "v6only.tail.example.", Type.AAAA))).containsExactly("fd7a:115c:a1e0:0:0:0:0:3");
        Message nx = ask(d, "nobody.tail.example.", Type.A);
        assertThat(nx.getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(nx.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(answers(ask(d, "2.0.64.100.in-addr.arpa.", Type.PTR))).containsExactly("peer.tail.example.");
        assertThat(ask(d, "99.0.64.100.in-addr.arpa.", Type.PTR).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(ask(d, "hidden.onion.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        // No upstream configured: not ours, nowhere to send it.
        assertThat(ask(d, "example.com.", Type.A).getRcode()).isEqualTo(Rcode.SERVFAIL);
    }

    /** A loopback DNS server answering every A query with {@code ip}; truncates UDP answers when asked to. */
    record TestUpstream(DatagramSocket udp, ServerSocket tcp, Thread t1, Thread t2) implements AutoCloseable {
        static TestUpstream start(String ip, boolean truncateUdp, int extraAnswers) throws Exception {
            DatagramSocket udp = null;
            ServerSocket tcp = null;
            // The same port number for UDP and TCP: a free UDP port's TCP twin may be taken (another test's client).
            for (int attempt = 0; tcp == null; attempt++) {
                udp = new DatagramSocket(0, InetAddress.getLoopbackAddress());
                try {
                    tcp = new ServerSocket(udp.getLocalPort(), 10, InetAddress.getLoopbackAddress());
                } catch (java.net.BindException e) {
                    udp.close();
                    if (attempt == 20) throw e;
                }
            }
            DatagramSocket u = udp;
            ServerSocket t = tcp;
            Thread t1 = Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[2000];
                while (!u.isClosed()) {
                    try {
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        u.receive(p);
                        Message q = new Message(Arrays.copyOf(buf, p.getLength()));
                        Message r = answer(q, ip, truncateUdp ? 0 : extraAnswers);
                        if (truncateUdp) r.getHeader().setFlag(Flags.TC);
                        byte[] w = r.toWire();
                        u.send(new DatagramPacket(w, w.length, p.getSocketAddress()));
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            Thread t2 = Thread.ofVirtual().start(() -> {
                while (!t.isClosed()) {
                    try (Socket s = t.accept()) {
                        var in = new java.io.DataInputStream(s.getInputStream());
                        byte[] q = in.readNBytes(in.readUnsignedShort());
                        byte[] w = answer(new Message(q), ip, extraAnswers).toWire();
                        var out = new java.io.DataOutputStream(s.getOutputStream());
                        out.writeShort(w.length);
                        out.write(w);
                        out.flush();
                    } catch (Exception e) {
                        if (t.isClosed()) return;
                    }
                }
            });
            return new TestUpstream(u, t, t1, t2);
        }

        static Message answer(Message q, String ip, int extra) throws Exception {
            Message r = new Message(q.getHeader().getID());
            r.getHeader().setFlag(Flags.QR);
            r.addRecord(q.getQuestion(), Section.QUESTION);
            r.addRecord(new ARecord(q.getQuestion().getName(), DClass.IN, 60, InetAddress.getByName(ip)), Section.ANSWER);
            for (int i = 0; i < extra; i++) {
                r.addRecord(new ARecord(q.getQuestion().getName(), DClass.IN, 60,
                        InetAddress.getByAddress(new byte[] {10, 1, (byte) (i >> 8), (byte) i})), Section.ANSWER);
            }
            return r;
        }

        String addr() {
            return "127.0.0.1:" + udp.getLocalPort();
        }

        @Override
        public void close() throws Exception {
            udp.close();
            tcp.close();
        }
    }

    TestUpstream upstream(String ip, boolean truncate, int extra) throws Exception {
        TestUpstream u = TestUpstream.start(ip, truncate, extra);
        closeables.add(u);
        return u;
    }

    @Test
    void forwardsByLongestSuffixAndEmptyRoutesAreLocal() throws Exception {
        TestUpstream def = upstream("192.0.2.1", false, 0);
        TestUpstream corp = upstream("192.0.2.2", false, 0);
        TestUpstream deep = upstream("192.0.2.3", false, 0);
        DNSConfig cfg = DNSConfig.builder().proxied(true).resolvers(List.of(res(def.addr())))
                .routes(Map.of("corp.example", List.of(res(corp.addr())), "lab.corp.example", List.of(res(deep.addr())),
                        "internal.example", List.of()))
                .build();
        MagicDns d = dns(MagicDnsConfig.from(netmap(cfg)));
        assertThat(answers(ask(d, "www.example.com.", Type.A))).containsExactly("192.0.2.1");
        assertThat(answers(ask(d, "git.corp.example.", Type.A))).containsExactly("192.0.2.2");
        assertThat(answers(ask(d, "x.lab.corp.example.", Type.A))).containsExactly("192.0.2.3");
        assertThat(answers(ask(d, "notcorp.example.", Type.A))).containsExactly("192.0.2.1");
        assertThat(ask(d, "a.internal.example.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(answers(ask(d, "peer.tail.example.", Type.A))).containsExactly("100.64.0.2");
    }

    @Test
    void deadUpstreamTimesOutAndTheNextOneAnswers() throws Exception {
        DatagramSocket silent = new DatagramSocket(0, InetAddress.getLoopbackAddress());
        closeables.add(silent);
        TestUpstream good = upstream("192.0.2.7", false, 0);
        MagicDns d = dns(MagicDnsConfig.from(netmap(DNSConfig.builder()
                .resolvers(List.of(res("127.0.0.1:" + silent.getLocalPort()), res(good.addr()))).build())));
        long t0 = System.nanoTime();
        assertThat(answers(ask(d, "example.org.", Type.A))).containsExactly("192.0.2.7");
        assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(Duration.ofMillis(250).toNanos());
        MagicDns onlyDead = dns(MagicDnsConfig.from(netmap(DNSConfig.builder()
                .resolvers(List.of(res("127.0.0.1:" + silent.getLocalPort()))).build())));
        assertThat(ask(onlyDead, "example.org.", Type.A).getRcode()).isEqualTo(Rcode.SERVFAIL);
    }

    @Test
    void truncatedUdpAnswerIsRetriedOverTcp() throws Exception {
        TestUpstream big = upstream("192.0.2.9", true, 3);
        MagicDns d = dns(MagicDnsConfig.from(netmap(DNSConfig.builder().resolvers(List.of(res(big.addr()))).build())));
        Message m = ask(d, "many.example.", Type.A);
        assertThat(m.getHeader().getFlag(Flags.TC)).isFalse();
        assertThat(answers(m)).hasSize(4).contains("192.0.2.9");
        // Too big for the client's 512 bytes: it gets the truncated UDP answer and sees TC.
        TestUpstream huge = upstream("192.0.2.10", true, 60);
        MagicDns d2 = dns(MagicDnsConfig.from(netmap(DNSConfig.builder().resolvers(List.of(res(huge.addr()))).build())));
        assertThat(ask(d2, "many.example.", Type.A).getHeader().getFlag(Flags.TC)).isTrue();
        // With EDNS room for it, the full TCP answer is passed on.
        Message q = Message.newQuery(Record.newRecord(Name.fromString("many.example."), Type.A, DClass.IN));
        q.addRecord(new OPTRecord(4096, 0, 0), Section.ADDITIONAL);
        Message full = new Message(d2.handle(q.toWire()).get(5, TimeUnit.SECONDS));
        assertThat(answers(full)).hasSize(61);
    }

    @Test
    void configFromNetmap() {
        DNSConfig cfg = DNSConfig.builder().proxied(true).domains(List.of("tail.example", "Corp.Example."))
                .resolvers(List.of(res("1.1.1.1"), res("[2606:4700::1111]:5353"), res("https://dns.example/q")))
                .routes(Map.of("corp.example", List.of(res("10.0.0.53")))).build();
        MagicDnsConfig c = MagicDnsConfig.from(netmap(cfg));
        assertThat(c.searchDomains()).containsExactly("tail.example.", "corp.example.");
        assertThat(c.routes().get(".")).containsExactly(udp("1.1.1.1", 53), udp("2606:4700::1111", 5353));
        assertThat(c.routes().get("corp.example.")).containsExactly(udp("10.0.0.53", 53));
        assertThat(c.localDomains()).contains("tail.example.", "64.100.in-addr.arpa.", "127.100.in-addr.arpa.");
        assertThat(c.hosts()).containsKeys("self.tail.example.", "peer.tail.example.");
        // Without Proxied (MagicDNS off) names still resolve but nothing is authoritative.
        assertThat(MagicDnsConfig.from(netmap(DNSConfig.builder().build())).localDomains()).isEmpty();
        assertThat(MagicDnsConfig.from(netmap(null)).hosts()).containsKey("peer.tail.example.");
        // The host's own nameservers become the default only when control sets none.
        var os = List.of(new InetSocketAddress("192.0.2.53", 53));
        assertThat(c.withDefaultUpstream(os).routes().get(".")).hasSize(2);
        assertThat(MagicDnsConfig.from(netmap(null)).withDefaultUpstream(os).routes().get(".")).containsExactly(udp("192.0.2.53", 53));
    }

    static final URI EXIT_DOH = URI.create("http://100.64.0.2:41234/dns-query");

    static DNSResolver resExit(String addr) {
        return new DNSResolver(addr, null, true);
    }

    @Test
    void anExitNodeThatProxiesDnsGetsEverythingButTailnetNames() {
        DNSConfig cfg = DNSConfig.builder().proxied(true).resolvers(List.of(res("1.1.1.1")))
                .fallbackResolvers(List.of(res("9.9.9.9")))
                .routes(Map.of("corp.example", List.of(res("10.0.0.53")), "internal.example", List.of())).build();
        MagicDnsConfig c = MagicDnsConfig.from(netmap(cfg), ExitNodeDns.proxiedBy(EXIT_DOH));
        assertThat(c.routes()).containsOnlyKeys(".");
        assertThat(c.routes().get(".")).containsExactly(new Upstream.Doh(EXIT_DOH));
        assertThat(c.localDomains()).contains("tail.example.", "internal.example.");
        assertThat(c.hosts()).containsKey("peer.tail.example.");
        // The host's resolvers do not replace it (they are likely unreachable through the exit node).
        assertThat(c.withDefaultUpstream(List.of(new InetSocketAddress("192.0.2.53", 53))).routes().get("."))
                .containsExactly(new Upstream.Doh(EXIT_DOH));

        // Resolvers control marks UseWithExitNode are used instead, and only split routes made of them stay.
        DNSConfig marked = DNSConfig.builder().proxied(true).resolvers(List.of(resExit("1.1.1.1"), res("8.8.8.8")))
                .routes(Map.of("corp.example", List.of(resExit("10.0.0.53"), res("10.0.0.54")), "lan.example",
                        List.of(res("192.168.1.1")), "internal.example", List.of())).build();
        MagicDnsConfig m = MagicDnsConfig.from(netmap(marked), ExitNodeDns.proxiedBy(EXIT_DOH));
        assertThat(m.routes().get(".")).containsExactly(udp("1.1.1.1", 53));
        assertThat(m.routes().get("corp.example.")).containsExactly(udp("10.0.0.53", 53));
        assertThat(m.routes()).doesNotContainKey("lan.example.");
        assertThat(m.localDomains()).contains("internal.example.");
        // Without the exit node the same config uses everything.
        assertThat(MagicDnsConfig.from(netmap(marked)).routes().get(".")).containsExactly(udp("1.1.1.1", 53), udp("8.8.8.8", 53));
    }

    @Test
    void anExitNodeWithoutDnsProxyFallsBackToTheFallbackResolvers() {
        DNSConfig cfg = DNSConfig.builder().proxied(true).fallbackResolvers(List.of(res("9.9.9.9"))).build();
        assertThat(MagicDnsConfig.from(netmap(cfg)).routes()).as("no exit node: the host's resolvers will do").isEmpty();
        assertThat(MagicDnsConfig.from(netmap(cfg), ExitNodeDns.withoutProxy()).routes().get("."))
                .containsExactly(udp("9.9.9.9", 53));
        DNSConfig withDefault = DNSConfig.builder().resolvers(List.of(res("1.1.1.1"))).fallbackResolvers(List.of(res("9.9.9.9"))).build();
        assertThat(MagicDnsConfig.from(netmap(withDefault), ExitNodeDns.withoutProxy()).routes().get("."))
                .containsExactly(udp("1.1.1.1", 53));
        assertThat(MagicDnsConfig.parseUpstream("http://100.64.0.5:123/dns-query"))
                .isEqualTo(new Upstream.Doh(URI.create("http://100.64.0.5:123/dns-query")));
        assertThat(MagicDnsConfig.parseUpstream("https://dns.example/dns-query")).as("only known providers, not yet").isNull();
    }

    /** A DoH server on loopback answering A queries with {@code ip}, or with {@code status} and {@code type}. */
    record FakeDoh(HttpServer http, List<String> seen) implements AutoCloseable {
        static FakeDoh start(String ip, int extra, int status, String type) throws Exception {
            HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());
            http.createContext("/dns-query", ex -> {
                byte[] q = ex.getRequestBody().readAllBytes();
                seen.add(ex.getRequestMethod() + " " + ex.getRequestHeaders().getFirst("Content-Type") + " "
                        + ex.getRequestHeaders().getFirst("Accept"));
                byte[] body;
                try {
                    body = status == 200 ? TestUpstream.answer(new Message(q), ip, extra).toWire() : new byte[0];
                } catch (Exception e) {
                    body = new byte[0];
                }
                ex.getResponseHeaders().set("Content-Type", type);
                ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
                if (body.length > 0) ex.getResponseBody().write(body);
                ex.close();
            });
            http.start();
            return new FakeDoh(http, seen);
        }

        URI url() {
            return URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/dns-query");
        }

        @Override
        public void close() {
            http.stop(0);
        }
    }

    FakeDoh doh(String ip, int extra, int status, String type) throws Exception {
        FakeDoh d = FakeDoh.start(ip, extra, status, type);
        closeables.add(d);
        return d;
    }

    @Test
    void namesGoThroughTheExitNodesDohProxy() throws Exception {
        FakeDoh exit = doh("198.51.100.7", 0, 200, "application/dns-message");
        MagicDns d = dns(MagicDnsConfig.from(netmap(DNSConfig.builder().proxied(true).build()), ExitNodeDns.proxiedBy(exit.url())));
        assertThat(answers(ask(d, "www.example.com.", Type.A))).containsExactly("198.51.100.7");
        assertThat(exit.seen()).containsExactly("POST application/dns-message application/dns-message");
        // Tailnet names never leave the node.
        assertThat(answers(ask(d, "peer.tail.example.", Type.A))).containsExactly("100.64.0.2");
        assertThat(ask(d, "nobody.tail.example.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(exit.seen()).hasSize(1);
        // An answer too big for a plain UDP client comes whole, flagged truncated (tailscale's checkResponseSizeAndSetTC).
        FakeDoh big = doh("198.51.100.8", 60, 200, "application/dns-message");
        MagicDns d2 = dns(MagicDnsConfig.from(netmap(null), ExitNodeDns.proxiedBy(big.url())));
        Message m = ask(d2, "many.example.", Type.A);
        assertThat(m.getHeader().getFlag(Flags.TC)).isTrue();
        assertThat(answers(m)).hasSize(61);
    }

    @ParameterizedTest
    @ValueSource(ints = {500, 503, 404, 200})
    void aFailingDohProxyIsServfail(int status) throws Exception {
        // 200 with the wrong Content-Type fails too.
        FakeDoh exit = doh("198.51.100.7", 0, status, status == 200 ? "text/plain" : "application/dns-message");
        MagicDns d = dns(MagicDnsConfig.from(netmap(null), ExitNodeDns.proxiedBy(exit.url())));
        assertThat(ask(d, "www.example.com.", Type.A).getRcode()).isEqualTo(Rcode.SERVFAIL);
        // A dead one too (nothing listens).
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        MagicDns dead = dns(MagicDnsConfig.from(netmap(null), ExitNodeDns.proxiedBy(URI.create("http://127.0.0.1:" + port + "/dns-query"))));
        assertThat(ask(dead, "www.example.com.", Type.A).getRcode()).isEqualTo(Rcode.SERVFAIL);
    }

    @Test
    void peerQueriesGoToTheHostsResolversWithoutTailnetAnswers() throws Exception {
        TestUpstream host = upstream("203.0.113.5", false, 0);
        TestUpstream route = upstream("203.0.113.6", false, 0);
        MagicDns d = dns(MagicDnsConfig.from(netmap(DNSConfig.builder().proxied(true).resolvers(List.of(res(route.addr()))).build())));
        List<InetSocketAddress> hostNs = List.of(new InetSocketAddress("127.0.0.1", host.udp().getLocalPort()));
        assertThat(answers(new Message(d.handlePeerQuery(query("www.example.com.", Type.A), n -> true, hostNs).get(5, TimeUnit.SECONDS))))
                .containsExactly("203.0.113.5");
        // Not from the tailnet: a peer asking for a tailnet name gets what the host's resolver says.
        assertThat(answers(new Message(d.handlePeerQuery(query("peer.tail.example.", Type.A), n -> true, hostNs).get(5, TimeUnit.SECONDS))))
                .containsExactly("203.0.113.5");
        // MagicDNS stands in for the host's resolver: the queries follow its routes.
        assertThat(answers(new Message(d.handlePeerQuery(query("www.example.com.", Type.A), n -> true, List.of()).get(5, TimeUnit.SECONDS))))
                .containsExactly("203.0.113.6");
        Message refused = new Message(d.handlePeerQuery(query("blocked.example.", Type.A), n -> !n.equals("blocked.example."), hostNs)
                .get(5, TimeUnit.SECONDS));
        assertThat(refused.getRcode()).isEqualTo(Rcode.REFUSED);
        assertThat(refused.getQuestion().getName().toString()).isEqualTo("blocked.example.");
        // Answers too big for UDP come whole: DoH is not limited to 512 bytes.
        TestUpstream huge = upstream("203.0.113.9", true, 60);
        byte[] full = d.handlePeerQuery(query("many.example.", Type.A), n -> true,
                List.of(new InetSocketAddress("127.0.0.1", huge.udp().getLocalPort()))).get(5, TimeUnit.SECONDS);
        assertThat(answers(new Message(full))).hasSize(61);
    }

    @Test
    void malformedPeerQueriesAreRefusedUpFront() throws Exception {
        MagicDns d = dns(MagicDnsConfig.empty());
        byte[] response = query("x.example.", Type.A);
        response[2] |= (byte) 0x80;
        byte[] noQuestion = new Message(7).toWire();
        for (byte[] q : List.of(new byte[0], new byte[11], "not dns at all, not at all".getBytes(), response, noQuestion)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> d.handlePeerQuery(q, n -> true, List.of()))
                    .isInstanceOf(MagicDns.MalformedQueryException.class);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void garbageNeverThrowsAndGetsFormerrOrNothing(long seed) throws Exception {
        MagicDns d = dns(MagicDnsConfig.from(netmap(DNSConfig.builder().proxied(true).build())));
        Random rnd = new Random(seed);
        byte[] good = query("peer.tail.example.", Type.A);
        for (int i = 0; i < 3000; i++) {
            byte[] q;
            if (rnd.nextBoolean()) {
                q = new byte[rnd.nextInt(60)];
                rnd.nextBytes(q);
            } else {
                q = Arrays.copyOf(good, rnd.nextInt(good.length + 8));
                for (int k = rnd.nextInt(4); k > 0 && q.length > 0; k--) q[rnd.nextInt(q.length)] = (byte) rnd.nextInt();
            }
            byte[] r = d.handle(q).get(5, TimeUnit.SECONDS);
            if (q.length < 12 || (q[2] & 0x80) != 0) {
                assertThat(r).isNull();
                continue;
            }
            if (r == null) continue;
            Message m = new Message(r); // whatever we send parses
            assertThat(m.getHeader().getFlag(Flags.QR)).isTrue();
            assertThat(m.getHeader().getID()).isEqualTo(((q[0] & 0xff) << 8) | (q[1] & 0xff));
        }
    }
}
