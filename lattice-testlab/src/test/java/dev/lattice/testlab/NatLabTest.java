package dev.lattice.testlab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.testlab.Reflector.Answer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What each NAT kind does, seen from UDP/TCP reflectors on two internet hosts. One topology for the whole class
 * (building it takes a few seconds); each test uses its own local ports so conntrack state does not leak.
 */
@Tag("netns")
@Timeout(180)
class NatLabTest {
    private static final Duration WAIT = Duration.ofMillis(1500);
    private static final int STUN = 3478;

    private static NatLab net;
    private static String r1;
    private static String r2;

    @BeforeAll
    static void build() {
        Support s = Lab.support("nft", "python3", "ping");
        Assumptions.assumeTrue(s.available(), () -> "netns lab unavailable, skipped: " + s.reason());
        net = NatLab.builder()
                .site("eim", Nat.ENDPOINT_INDEPENDENT)
                .site("sym", Nat.SYMMETRIC)
                .site("fw", Nat.ENDPOINT_INDEPENDENT, Firewall.DROP_UDP)
                .publicHost("r1")
                .publicHost("r2")
                .build();
        r1 = net.address(net.publicHost("r1"));
        r2 = net.address(net.publicHost("r2"));
        for (Host h : net.publicHosts()) {
            Reflector.udp(h, STUN);
            Reflector.tcp(h, 8080);
        }
    }

    @AfterAll
    static void close() {
        if (net != null) {
            net.close();
        }
    }

    @Test
    void addressesFollowThePlan() {
        Site eim = net.site("eim");
        assertThat(net.serverAddress()).isEqualTo("10.200.0.2");
        assertThat(eim.router().wanAddress()).isEqualTo("10.200.0.11");
        assertThat(net.site("sym").router().wanAddress()).isEqualTo("10.200.0.12");
        assertThat(eim.address()).isEqualTo("192.168.11.2");
        assertThat(eim.router().lanAddress()).isEqualTo("192.168.11.1");
        assertThat(r1).isEqualTo("10.200.0.101");
        assertThat(eim.host().ip("route", "show", "default").stdout()).contains("via 192.168.11.1");
        assertThat(net.server().ip("route", "show", "default").stdout()).contains("via " + NatLab.GATEWAY);
        assertThat(eim.router().host().nftRuleset()).contains("masquerade persistent");
        assertThat(net.site("sym").router().host().nftRuleset()).contains("masquerade fully-random");

        assertThat(eim.host().ping(net.serverAddress(), 1, WAIT).allReceived()).as("LAN host reaches server").isTrue();
        assertThat(net.server().ping(eim.address(), 1, Duration.ofMillis(500)).anyReceived())
                .as("the internet has no route into a LAN").isFalse();
        assertThat(net.server().ping(eim.router().wanAddress(), 1, Duration.ofMillis(500)).anyReceived())
                .as("unsolicited ICMP to the WAN is dropped too").isFalse();
        assertThatThrownBy(() -> net.site("nope")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void endpointIndependentMappingKeepsOneExternalPortForAllDestinations() {
        Site eim = net.site("eim");
        List<Answer> a = Reflector.askUdp(eim.host(), 40001, WAIT, r1 + ":" + STUN, r2 + ":" + STUN, r1 + ":" + 9);
        assertThat(a.get(0).answered()).as("%s", a).isTrue();
        assertThat(a.get(1).answered()).as("%s", a).isTrue();
        assertThat(a.get(0).seenAddress()).isEqualTo(eim.router().wanAddress());
        assertThat(a.get(1).seenAddress()).isEqualTo(eim.router().wanAddress());
        assertThat(a.get(0).seenPort()).isEqualTo(a.get(1).seenPort())
                .as("Linux masquerade keeps the port when unique").isEqualTo(40001);
        // nothing listens on r1:9: the ICMP error comes back through the NAT (related) and is reported
        assertThat(a.get(2).failure()).isEqualTo("refused");
    }

    @Test
    void symmetricMappingUsesAnotherExternalPortPerDestination() {
        Site sym = net.site("sym");
        List<Answer> a = Reflector.askUdp(sym.host(), 40002, WAIT, r1 + ":" + STUN, r2 + ":" + STUN);
        assertThat(a).allMatch(Answer::answered, "answered");
        assertThat(a).allMatch(x -> x.seenAddress().equals(sym.router().wanAddress()), "from the WAN address");
        assertThat(a.get(0).seenPort()).as("%s", a).isNotEqualTo(a.get(1).seenPort());
        // the same destination again reuses the mapping (conntrack), only new destinations get new ports
        Answer again = Reflector.askUdp(sym.host(), 40002, WAIT, r1 + ":" + STUN).getFirst();
        assertThat(again.seenPort()).isEqualTo(a.get(0).seenPort());
    }

    @Test
    void dropUdpBlocksUdpButNotTcpAndSwitchesAtRuntime() {
        Site fw = net.site("fw");
        Router router = fw.router();
        assertThat(router.udpBlocked()).isTrue();
        try {
            assertThat(Reflector.askUdp(fw.host(), 40003, WAIT, r1 + ":" + STUN).getFirst().failure())
                    .isEqualTo("timeout");
            Answer tcp = Reflector.askTcp(fw.host(), r1 + ":8080", WAIT);
            assertThat(tcp.answered()).as("%s", tcp).isTrue();
            assertThat(tcp.seenAddress()).isEqualTo(router.wanAddress());

            router.blockUdp(false);
            assertThat(router.udpBlocked()).isFalse();
            assertThat(router.host().nftRuleset()).doesNotContain(Firewall.TABLE);
            Answer udp = Reflector.askUdp(fw.host(), 40003, WAIT, r1 + ":" + STUN).getFirst();
            assertThat(udp.answered()).as("%s", udp).isTrue();

            router.blockUdp(true);
            router.blockUdp(true); // idempotent
            assertThat(Reflector.askUdp(fw.host(), 40003, WAIT, r1 + ":" + STUN).getFirst().failure())
                    .as("an established flow is cut too").isEqualTo("timeout");
            assertThat(Reflector.askTcp(fw.host(), r2 + ":8080", WAIT).answered()).isTrue();
        } finally {
            router.blockUdp(true);
        }
    }

    @Test
    void publicHostUdpBlockLeavesTcpAndOtherHostsAlone() {
        Host eim = net.site("eim").host();
        try {
            net.blockUdp("r2", true);
            List<Answer> a = Reflector.askUdp(eim, 40004, WAIT, r1 + ":" + STUN, r2 + ":" + STUN);
            assertThat(a.get(0).answered()).as("%s", a).isTrue();
            assertThat(a.get(1).failure()).isEqualTo("timeout");
            assertThat(Reflector.askTcp(eim, r2 + ":8080", WAIT).answered()).isTrue();
            net.blockUdp("r2", false);
            assertThat(Reflector.askUdp(eim, 40004, WAIT, r2 + ":" + STUN).getFirst().answered()).isTrue();
        } finally {
            net.blockUdp("r2", false);
        }
    }

    @Test
    void unsolicitedInboundIsDroppedSilentlyAndOnlyTheContactedEndpointGetsIn() {
        for (String name : List.of("eim", "sym")) {
            Site site = net.site(name);
            String wan = site.router().wanAddress();
            // the LAN host listens on 40100 and has sent one datagram from it to r1:40999 (where nothing listens)
            BackgroundProcess lanReflector = Reflector.udp(site.host(), 40100, r1 + ":40999");
            try {
                // EIM keeps 40100 outside; under SYMMETRIC the port is random, so only the EIM case can aim
                if (site.router().nat() == Nat.ENDPOINT_INDEPENDENT) {
                    Answer contacted = Reflector.askUdp(net.publicHost("r1"), 40999, WAIT, wan + ":40100").getFirst();
                    assertThat(contacted.seen()).as("the contacted endpoint gets in: %s", contacted)
                            .isEqualTo(r1 + ":40999");
                }
                Answer otherPort = Reflector.askUdp(net.publicHost("r1"), 40998, WAIT, wan + ":40100").getFirst();
                Answer otherHost = Reflector.askUdp(net.publicHost("r2"), 40999, WAIT, wan + ":40100").getFirst();
                Answer unmapped = Reflector.askUdp(net.publicHost("r2"), 0, WAIT, wan + ":40200").getFirst();
                // "timeout", not "refused": dropped without an ICMP answer, and never reaching the LAN host
                assertThat(otherPort.failure()).as(name + " other port").isEqualTo("timeout");
                assertThat(otherHost.failure()).as(name + " other host").isEqualTo("timeout");
                assertThat(unmapped.failure()).as(name + " unmapped port").isEqualTo("timeout");
                assertThat(lanReflector.output()).doesNotContain("from " + r2);
            } finally {
                lanReflector.stop();
            }
        }
    }

    @Test
    void resolvConfIsPerHostAndRemovedOnClose() {
        Path file;
        try (NatLab small = NatLab.builder().publicHost("dns").build()) {
            Host h = small.publicHost("dns");
            assertThat(small.sites()).isEmpty();
            h.resolvConf("nameserver 10.200.0.2\nsearch lab.test\n");
            file = h.resolvConfPath();
            assertThat(h.exec("cat", "/etc/resolv.conf").stdout()).contains("search lab.test");
            assertThat(small.server().exec("cat", "/etc/resolv.conf").stdout()).doesNotContain("lab.test");
            h.resolvConf("nameserver 10.200.0.3\n");
            assertThat(h.exec("cat", "/etc/resolv.conf").stdout()).isEqualTo("nameserver 10.200.0.3\n");
            assertThat(Files.exists(file)).isTrue();
        }
        assertThat(Files.exists(file)).isFalse();
        assertThat(Files.exists(file.getParent())).isFalse();
    }
}
