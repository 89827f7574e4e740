package dev.lattice.agent.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.system.HostEnv;
import dev.lattice.wire.ip.IpPrefix;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What traffic from peers may be for: ours, the subnets offered, and for an exit node the internet only. */
class LocalNetsTest {
    static final List<HostEnv.Interface> HOST = List.of(
            new HostEnv.Interface("lo", true, List.of(HostEnv.Address.parse("127.0.0.1/8"), HostEnv.Address.parse("::1/128"))),
            new HostEnv.Interface("eth0", false, List.of(HostEnv.Address.parse("203.0.113.10/24"),
                    HostEnv.Address.parse("2001:db8:1::10/64"))),
            new HostEnv.Interface("lattice0", false, List.of(HostEnv.Address.parse("100.64.0.1/32"))));
    static final List<IpPrefix> SELF = List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"));

    static IpSet set(List<IpPrefix> ps) {
        return new IpSet().addAll(ps);
    }

    static java.net.InetAddress ip(String s) {
        return IpPrefix.parseAddress(s);
    }

    @Test
    void aPlainNodeIsOnlyItsOwnAddresses() {
        assertThat(LocalNets.of(SELF, List.of(), HOST)).containsExactlyElementsOf(SELF);
    }

    @Test
    void aSubnetRouterAddsItsSubnets() {
        IpSet s = set(LocalNets.of(SELF, List.of(IpPrefix.parse("10.1.0.0/24")), HOST));
        assertThat(s.contains(ip("10.1.0.77"))).isTrue();
        assertThat(s.contains(ip("10.1.1.77"))).isFalse();
        assertThat(s.contains(ip("8.8.8.8"))).isFalse();
    }

    @Test
    void anExitNodeIsTheInternetWithoutItsLansOrPrivateRanges() {
        IpSet s = set(LocalNets.of(SELF, List.of(IpPrefix.parse("0.0.0.0/0"), IpPrefix.parse("::/0")), HOST));
        for (String yes : List.of("198.51.100.80", "8.8.8.8", "203.0.113.10", "100.64.0.1", "2606:4700::1111", "2001:db8:1::10")) {
            assertThat(s.contains(ip(yes))).as(yes).isTrue();
        }
        // Its own LAN (but not its own address on it), loopback, RFC 1918, link-local, multicast, other tailnet nodes.
        for (String no : List.of("203.0.113.20", "127.0.0.2", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.1.1",
                "224.0.0.1", "100.64.0.2", "2001:db8:1::20", "fe80::1", "ff02::1", "fd7a:115c:a1e0::2")) {
            assertThat(s.contains(ip(no))).as(no).isFalse();
        }
    }

    @Test
    void ipSetAddsRemovesAndReadsBackTheFewestPrefixes() {
        IpSet s = new IpSet().add(IpPrefix.parse("10.0.0.0/8")).remove(IpPrefix.parse("10.0.0.0/9"))
                .add(IpPrefix.parse("10.0.0.1/32")).add(IpPrefix.parse("11.0.0.0/8"));
        assertThat(s.prefixes()).containsExactly(IpPrefix.parse("10.0.0.1/32"), IpPrefix.parse("10.128.0.0/9"),
                IpPrefix.parse("11.0.0.0/8"));
        assertThat(new IpSet().add(IpPrefix.parse("10.0.0.0/25")).add(IpPrefix.parse("10.0.0.128/25")).prefixes())
                .as("adjacent ranges merge").containsExactly(IpPrefix.parse("10.0.0.0/24"));
    }
}
