package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.config.ConfigException;
import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.dns.authoritative.DnsProbe;
import dev.lattice.control.funnel.Funnel;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.NetPortRange;
import dev.lattice.wire.tailcfg.Service;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Funnel's control side over ts2021: the policy's {@code nodeAttrs} give {@code funnel} (and control adds
 * {@code funnel-ports}); a node with the attribute that turns Funnel on (Hostinfo.IngressEnabled) and the ingress
 * (tagged {@code funnel.ingress_tag}) become peers although no ACL connects them; the node's filter lets the ingress
 * reach its peer API and grants it {@code https://tailscale.com/cap/ingress}; its name answers publicly with the
 * ingress's address. Turning Funnel off undoes all of it; a node without the attribute gets none of it.
 */
@Timeout(60)
class FunnelProtocolTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    static final String POLICY = """
            {
              "tagOwners": {"tag:funnel-ingress": ["alice@"], "tag:web": ["alice@"]},
              "nodeAttrs": [{"target": ["tag:web"], "attr": ["funnel", "example-attr"]}],
              "acls": [],
            }
            """;
    static final String FUNNEL = """
            funnel:
              ingress_tag: tag:funnel-ingress
              addresses: [203.0.113.7, "2001:db8::7"]
            """;

    @TempDir
    Path dir;
    ControlServer server;
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
    }

    static String config(Path dir) {
        return CertificatesProtocolTest.withCertificates(TestServer.yaml(dir, TestServer.freePort(), false))
                .replace("node_records: true", "node_records: false")
                + "policy:\n  mode: database\n" + FUNNEL;
    }

    static UnaryOperator<Hostinfo> funnelOn(boolean on, String... tags) {
        return h -> h.withRequestTags(List.of(tags)).withServices(List.of(new Service("peerapi4", 40123, null),
                new Service("peerapi6", 40124, null))).with("IngressEnabled", on);
    }

    @Test
    void theIngressAndAFunnelNodeAreConnectedOnlyWhileFunnelIsOnAndAllowed() throws Exception {
        server = ControlServer.start(ControlConfig.parse(config(dir), dir));
        User alice = server.store().users().create("alice", "Alice", "alice@example.com");
        server.tailnet().announceFull();
        server.adminApi().setPolicy(POLICY);
        String key = server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(600)).fullKey();
        var url = server.config().serverUrl();
        try (TestMachine ingress = new TestMachine(group, url, "ingress");
             TestMachine web = new TestMachine(group, url, "web");
             TestMachine plain = new TestMachine(group, url, "plain")) {
            ingress.hostinfoExtra = h -> h.withRequestTags(List.of("tag:funnel-ingress"));
            web.hostinfoExtra = funnelOn(true, "tag:web");
            plain.hostinfoExtra = funnelOn(true); // Funnel on, but no attribute
            for (TestMachine m : List.of(ingress, web, plain)) {
                assertThat(m.register(key).error()).isNull();
                m.openStream();
            }
            TailnetNode in = node("ingress"), w = node("web");

            // the attribute, and the ports tailscale's CLI checks; the plain node has neither
            web.awaitView(WAIT, v -> v.self != null && v.self.capMap() != null && v.self.capMap().containsKey("funnel"));
            assertThat(web.view.self.capMap()).containsKeys("https", "funnel", "example-attr",
                    "https://tailscale.com/cap/funnel-ports?ports=443,8443,10000");
            plain.awaitView(WAIT, v -> v.self != null);
            assertThat(plain.view.self.capMap()).doesNotContainKey("funnel");

            // peers both ways, nobody else
            ingress.awaitView(WAIT, v -> v.hasPeer("web"));
            web.awaitView(WAIT, v -> v.hasPeer("ingress"));
            assertThat(ingress.view.hasPeer("plain")).isFalse();
            assertThat(plain.view.hasPeer("ingress")).isFalse();

            // the peer API port from the ingress, and the ingress capability
            String v4 = IpPrefix.format(in.ipv4()), v6 = IpPrefix.format(in.ipv6());
            List<FilterRule> f = web.awaitView(WAIT, v -> v.filter.size() == 2).filter;
            assertThat(f.get(0).srcIps()).containsExactly(v4, v6);
            assertThat(f.get(0).ipProto()).containsExactly(6);
            assertThat(f.get(0).dstPorts()).extracting(NetPortRange::ip, p -> p.ports().first(), p -> p.ports().last())
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(IpPrefix.format(w.ipv4()), 40123, 40123),
                            org.assertj.core.groups.Tuple.tuple(IpPrefix.format(w.ipv6()), 40124, 40124));
            assertThat(f.get(1).srcIps()).containsExactly(v4, v6);
            assertThat(f.get(1).capGrant()).singleElement().satisfies(g -> {
                assertThat(g.dsts()).containsExactly(new IpPrefix(w.ipv4(), 32), new IpPrefix(w.ipv6(), 128));
                assertThat(g.capMap()).containsOnlyKeys(Funnel.CAP_INGRESS);
            });
            assertThat(plain.view.filter).isEmpty();

            // public DNS: the Funnel name answers with the ingress; the others do not exist (no node_records)
            assertThat(answers("web.tailnet.test", Type.A)).containsExactly("203.0.113.7");
            assertThat(answers("web.tailnet.test", Type.AAAA)).containsExactly("2001:db8:0:0:0:0:0:7");
            assertThat(DnsProbe.query(server.authoritativeDnsAddress(), "plain.tailnet.test", Type.A, false).getRcode())
                    .isEqualTo(Rcode.NXDOMAIN);

            // Funnel off: no peers, no rules, no name
            web.hostinfoExtra = funnelOn(false, "tag:web");
            assertThat(web.post("/machine/map", web.mapRequest().stream(false).omitPeers(true).build()).status()).isEqualTo(200);
            ingress.awaitView(WAIT, v -> !v.hasPeer("web"));
            web.awaitView(WAIT, v -> !v.hasPeer("ingress") && v.filter.isEmpty());
            assertThat(DnsProbe.query(server.authoritativeDnsAddress(), "web.tailnet.test", Type.A, false).getRcode())
                    .isEqualTo(Rcode.NXDOMAIN);

            // WireIngress (wanted, not on yet) connects them again, but publishes no name
            web.hostinfoExtra = h -> funnelOn(false, "tag:web").apply(h).with("WireIngress", true);
            assertThat(web.post("/machine/map", web.mapRequest().stream(false).omitPeers(true).build()).status()).isEqualTo(200);
            ingress.awaitView(WAIT, v -> v.hasPeer("web"));
            assertThat(DnsProbe.query(server.authoritativeDnsAddress(), "web.tailnet.test", Type.A, false).getRcode())
                    .isEqualTo(Rcode.NXDOMAIN);

            // the attribute taken away by a new policy: disconnected
            server.adminApi().setPolicy(POLICY.replace("\"funnel\", ", ""));
            ingress.awaitView(WAIT, v -> !v.hasPeer("web"));
            web.awaitView(WAIT, v -> !v.self.capMap().containsKey("funnel") && v.self.capMap().containsKey("example-attr"));
        }
    }

    @Test
    void theFunnelSectionIsCheckedKeyByKey() {
        String base = CertificatesProtocolTest.withCertificates(TestServer.yaml(dir, TestServer.freePort(), false));
        assertThatThrownBy(() -> ControlConfig.parse(base + "funnel:\n  ingress_tag: funnel\n  addresses: [203.0.113.7]\n", dir))
                .isInstanceOf(ConfigException.class).hasMessageContaining("funnel.ingress_tag");
        assertThatThrownBy(() -> ControlConfig.parse(base + "funnel:\n  ingress_tag: tag:i\n", dir))
                .isInstanceOf(ConfigException.class).hasMessageContaining("funnel.addresses");
        assertThatThrownBy(() -> ControlConfig.parse(base + "funnel:\n  ingress_tag: tag:i\n  addresses: [example.com]\n", dir))
                .isInstanceOf(ConfigException.class).hasMessageContaining("funnel.addresses");
        assertThatThrownBy(() -> ControlConfig.parse(base + FUNNEL + "  ports: 443,70000\n", dir))
                .isInstanceOf(ConfigException.class).hasMessageContaining("funnel.ports");
        assertThatThrownBy(() -> ControlConfig.parse(base + FUNNEL + "  port: 443\n", dir))
                .isInstanceOf(ConfigException.class).hasMessageContaining("funnel.port");
        assertThatThrownBy(() -> ControlConfig.parse(TestServer.yaml(dir, TestServer.freePort(), false) + FUNNEL, dir))
                .isInstanceOf(ConfigException.class).hasMessageContaining("dns.certificates");
        ControlConfig ok = ControlConfig.parse(base + FUNNEL + "  ports: 443,8443-8445\n", dir);
        assertThat(ok.funnel().ports()).isEqualTo("443,8443-8445");
        assertThat(ok.funnel().addresses()).hasSize(2);
        assertThat(ControlConfig.parse(base, dir).funnel()).isNull();
    }

    private TailnetNode node(String name) {
        return server.tailnet().nodes().stream().filter(n -> n.hostname().equals(name)).findFirst().orElseThrow();
    }

    private List<String> answers(String name, int type) throws Exception {
        Message r = DnsProbe.query(server.authoritativeDnsAddress(), name, type, false);
        assertThat(r.getRcode()).isEqualTo(Rcode.NOERROR);
        return r.getSection(Section.ANSWER).stream().map(Record::rdataToString).toList();
    }
}
