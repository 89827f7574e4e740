package dev.lattice.agent.peerapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.Service;
import java.net.InetAddress;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class PeerApiServicesTest {

    /** Expected ports computed independently (Python's zlib.crc32 over the last three address bytes). */
    @ParameterizedTest
    @CsvSource({
            "100.64.0.1, 0, 58436",
            "100.64.0.1, 1, 36467",
            "100.101.102.103, 0, 59395",
            "100.101.102.103, 1, 54874",
            "fd7a:115c:a1e0::1, 0, 59780",
            "fd7a:115c:a1e0::1, 1, 33715",
            // the same last three bytes as 100.101.102.103: IPv4 and IPv6 usually share a port, as in tailscale
            "fd7a:115c:a1e0:ab12:4843:cd96:6265:6667, 0, 59395",
    })
    void stablePortIsTailscalesCrc32OfTheLastThreeBytes(String ip, int attempt, int port) {
        assertThat(PeerApiServices.stablePort(IpPrefix.parseAddress(ip), attempt)).isEqualTo(port);
    }

    @Test
    void servicesAdvertiseEachListenerAndTheDnsProxy() {
        Map<InetAddress, Integer> ports = new LinkedHashMap<>();
        ports.put(IpPrefix.parseAddress("fd7a:115c:a1e0::1"), 41000);
        ports.put(IpPrefix.parseAddress("100.64.0.1"), 42000);
        assertThat(PeerApiServices.services(ports)).containsExactly(new Service("peerapi4", 42000, null),
                new Service("peerapi6", 41000, null), new Service("peerapi-dns-proxy", 1, null));
    }

    static Node peer(Integer cap, List<Service> services, String... addrs) {
        Hostinfo hi = Hostinfo.empty().withHostname("exit");
        if (services != null) hi = hi.withServices(services);
        return Node.builder().id(2L).name("exit.tail.example.").cap(cap).hostinfo(hi)
                .addresses(java.util.Arrays.stream(addrs).map(IpPrefix::parse).toList()).build();
    }

    static NetworkMap netmap(String... selfAddrs) {
        Node self = Node.builder().id(1L).name("me.tail.example.")
                .addresses(java.util.Arrays.stream(selfAddrs).map(IpPrefix::parse).toList()).build();
        return new NetworkMap(self, List.of(), null, null, List.of(), Map.of(), "tail.example", null);
    }

    static final List<Service> BOTH = List.of(new Service("peerapi4", 40001, null), new Service("peerapi6", 40002, null),
            new Service("peerapi-dns-proxy", 1, null));

    @Test
    void baseUrlPrefersIpv4WhenWeHaveItAndThePeerListensOnIt() {
        Node p = peer(130, BOTH, "100.64.0.2/32", "fd7a:115c:a1e0::2/128");
        assertThat(PeerApiServices.base(netmap("100.64.0.1/32", "fd7a:115c:a1e0::1/128"), p))
                .contains(URI.create("http://100.64.0.2:40001"));
        assertThat(PeerApiServices.base(netmap("fd7a:115c:a1e0::1/128"), p))
                .as("we have only IPv6").contains(URI.create("http://[fd7a:115c:a1e0::2]:40002"));
        Node only6 = peer(130, List.of(new Service("peerapi6", 40002, null)), "100.64.0.2/32", "fd7a:115c:a1e0::2/128");
        assertThat(PeerApiServices.base(netmap("100.64.0.1/32", "fd7a:115c:a1e0::1/128"), only6))
                .contains(URI.create("http://[fd7a:115c:a1e0::2]:40002"));
        assertThat(PeerApiServices.base(netmap("100.64.0.1/32"), only6)).as("no common family").isEmpty();
        assertThat(PeerApiServices.base(netmap("100.64.0.1/32"), peer(130, null, "100.64.0.2/32"))).isEmpty();
    }

    @Test
    void exitNodeDohFollowsTailscalesPeerCanProxyDns() {
        NetworkMap nm = netmap("100.64.0.1/32");
        // Capability version 26 or newer proxies DNS whatever Services say.
        assertThat(PeerApiServices.exitNodeDoh(nm, peer(26, List.of(new Service("peerapi4", 40001, null)), "100.64.0.2/32")))
                .contains(URI.create("http://100.64.0.2:40001/dns-query"));
        // Older (or unknown) capability versions must advertise the proxy.
        assertThat(PeerApiServices.exitNodeDoh(nm, peer(25, List.of(new Service("peerapi4", 40001, null)), "100.64.0.2/32"))).isEmpty();
        assertThat(PeerApiServices.exitNodeDoh(nm, peer(null, BOTH, "100.64.0.2/32")))
                .contains(URI.create("http://100.64.0.2:40001/dns-query"));
        assertThat(PeerApiServices.exitNodeDoh(nm, peer(null, List.of(new Service("peerapi4", 40001, null),
                new Service("peerapi-dns-proxy", 0, null)), "100.64.0.2/32"))).as("proxy version 0").isEmpty();
        // A new peer without a peer API port has no URL to offer: no DoH (tailscale would build "/dns-query").
        assertThat(PeerApiServices.exitNodeDoh(nm, peer(130, List.of(), "100.64.0.2/32"))).isEmpty();
        assertThat(PeerApiServices.exitNodeDoh(nm, null)).isEqualTo(Optional.empty());
    }
}
