package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.dns.authoritative.DnsProbe;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.controlclient.ControlChannel;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.SetDNSRequest;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * Certificates end to end over ts2021, as tailscale's {@code feature/acme} drives them: with {@code dns.certificates}
 * each node's netmap names its own FQDN in CertDomains and grants the {@code https} capability; {@code
 * /machine/set-dns} publishes the challenge TXT record for the node's own name only, and the authoritative DNS
 * server answers it over UDP and TCP until the name changes owner.
 */
@Timeout(60)
class CertificatesProtocolTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final String DIGEST = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
    @TempDir
    Path dir;
    ControlServer server;
    EventLoopGroup group;

    @AfterEach
    void stop() {
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
    }

    static String withCertificates(String yaml) {
        return yaml.replace("dns:\n", """
                dns:
                  certificates: true
                  authoritative:
                    listen_addr: 127.0.0.1:0
                    ns: [ns1.example.net, ns2.example.net]
                    node_records: true
                """);
    }

    private String key(User u) {
        return server.store().preAuthKeys().create(u.id(), true, false, List.of(), Instant.now().plusSeconds(600)).fullKey();
    }

    static SetDNSRequest txt(TestMachine m, String name, String value) {
        return new SetDNSRequest(CapabilityVersion.CURRENT, m.nodeKey.publicKey(), name, "TXT", value);
    }

    private List<String> txt(String name, boolean tcp) throws Exception {
        Message r = DnsProbe.query(server.authoritativeDnsAddress(), name, Type.TXT, tcp);
        assertThat(r).as("a reply").isNotNull();
        if (r.getRcode() == Rcode.NXDOMAIN) return List.of();
        assertThat(r.getRcode()).isEqualTo(Rcode.NOERROR);
        return r.getSection(Section.ANSWER).stream().map(x -> ((TXTRecord) x).getStrings().getFirst()).toList();
    }

    @Test
    void aNodeGetsItsNameAndPublishesItsOwnChallengeOnly() throws Exception {
        server = ControlServer.start(ControlConfig.parse(withCertificates(TestServer.yaml(dir, TestServer.freePort(), false)), dir));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        User alice = server.store().users().create("alice", "", "");
        server.tailnet().announceFull();
        String key = key(alice);
        InetSocketAddress dns = server.authoritativeDnsAddress();
        assertThat(dns).isNotNull();

        try (TestMachine web = new TestMachine(group, server.config().serverUrl(), "web");
             TestMachine other = new TestMachine(group, server.config().serverUrl(), "other")) {
            web.register(key);
            other.register(key);
            web.openStream();
            MapResponse full = web.await(WAIT, x -> x.node() != null);
            assertThat(full.dnsConfig().certDomains()).containsExactly("web.tailnet.test");
            assertThat(full.node().capMap()).containsKey("https");

            // its own challenge name, with or without the root dot, in any case
            ControlChannel.Response ok = web.post("/machine/set-dns", txt(web, "_acme-challenge.web.tailnet.test", DIGEST));
            assertThat(ok.status()).as(ok.bodyText()).isEqualTo(200);
            assertThat(ok.bodyText()).isEqualTo("{}");
            assertThat(txt("_acme-challenge.web.tailnet.test", false)).containsExactly(DIGEST);
            assertThat(txt("_acme-challenge.WEB.tailnet.test.", true)).containsExactly(DIGEST);
            String second = DIGEST.replace('L', 'M');
            assertThat(web.post("/machine/set-dns", txt(web, "_ACME-challenge.web.tailnet.test.", second)).status()).isEqualTo(200);
            assertThat(txt("_acme-challenge.web.tailnet.test", false)).containsExactly(DIGEST, second);

            // refused: another node's name, a name that is not a challenge, other types, bad values, a foreign node key
            ControlChannel.Response stolen = other.post("/machine/set-dns", txt(other, "_acme-challenge.web.tailnet.test", "x"));
            assertThat(stolen.status()).isEqualTo(403);
            assertThat(stolen.bodyText()).contains("may only set _acme-challenge.other.tailnet.test");
            assertThat(web.post("/machine/set-dns", txt(web, "web.tailnet.test", DIGEST)).status()).isEqualTo(403);
            assertThat(web.post("/machine/set-dns", txt(web, "_acme-challenge.web.tailnet.test.evil.example", DIGEST)).status())
                    .isEqualTo(403);
            ControlChannel.Response a = web.post("/machine/set-dns", new SetDNSRequest(CapabilityVersion.CURRENT,
                    web.nodeKey.publicKey(), "_acme-challenge.web.tailnet.test", "A", "100.64.0.9"));
            assertThat(a.status()).isEqualTo(400);
            assertThat(a.bodyText()).contains("only TXT records");
            assertThat(web.post("/machine/set-dns", txt(web, "_acme-challenge.web.tailnet.test", "a b\"c")).status()).isEqualTo(400);
            assertThat(web.post("/machine/set-dns", new SetDNSRequest(CapabilityVersion.CURRENT, other.nodeKey.publicKey(),
                    "_acme-challenge.other.tailnet.test", "TXT", DIGEST)).status()).as("another machine's node").isEqualTo(404);
            assertThat(web.post("/machine/set-dns", new SetDNSRequest(1, web.nodeKey.publicKey(),
                    "_acme-challenge.web.tailnet.test", "TXT", DIGEST)).status()).as("too old a client").isEqualTo(400);
            assertThat(txt("_acme-challenge.web.tailnet.test", true)).containsExactly(DIGEST, second);
            assertThat(txt("_acme-challenge.other.tailnet.test", false)).isEmpty();

            // the zone around it: node addresses (node_records), NS at the apex, nothing outside
            TailnetNode webNode = server.tailnet().byNodeKey(web.nodeKey.publicKey()).orElseThrow();
            Message addr = DnsProbe.query(dns, "web.tailnet.test", Type.A, false);
            assertThat(addr.getSection(Section.ANSWER)).extracting(Record::rdataToString)
                    .containsExactly(webNode.ipv4().getHostAddress());
            assertThat(DnsProbe.query(dns, "tailnet.test", Type.NS, true).getSection(Section.ANSWER)).hasSize(2);
            assertThat(DnsProbe.query(dns, "example.net", Type.A, false).getRcode()).isEqualTo(Rcode.REFUSED);
            assertThat(server.metrics().dnsQueries.labelValues("refused").get()).isEqualTo(1.0);
            assertThat(server.metrics().dnsQueries.labelValues("answered").get()).isGreaterThanOrEqualTo(6.0);

            // renamed: its netmap names the new name, and the old name's challenge is gone at once
            server.adminApi().renameNode(webNode.id(), "web2");
            MapResponse renamed = web.await(WAIT, x -> x.dnsConfig() != null);
            assertThat(renamed.dnsConfig().certDomains()).containsExactly("web2.tailnet.test");
            assertThat(txt("_acme-challenge.web.tailnet.test", false)).isEmpty();
        }
    }

    @Test
    void withoutCertificatesNothingIsOfferedAndSetDnsIsRefused() throws Exception {
        server = ControlServer.start(ControlConfig.parse(TestServer.yaml(dir, TestServer.freePort(), false), dir));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        User alice = server.store().users().create("alice", "", "");
        server.tailnet().announceFull();
        assertThat(server.authoritativeDnsAddress()).isNull();
        try (TestMachine web = new TestMachine(group, server.config().serverUrl(), "web")) {
            web.register(key(alice));
            web.openStream();
            MapResponse full = web.await(WAIT, x -> x.node() != null);
            assertThat(full.dnsConfig().certDomains()).isNull();
            assertThat(full.node().capMap()).doesNotContainKey("https");
            ControlChannel.Response r = web.post("/machine/set-dns", txt(web, "_acme-challenge.web.tailnet.test", DIGEST));
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.bodyText()).contains("dns.certificates");
        }
    }
}
