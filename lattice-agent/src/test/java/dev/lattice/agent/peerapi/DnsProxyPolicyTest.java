package dev.lattice.agent.peerapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.DNSConfig;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.NetPortRange;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.PortRange;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Who may use our DoH proxy: tailscale's replyToDNSQueries, table-driven. */
class DnsProxyPolicyTest {

    static FilterRule rule(String src, String dst, int first, int last) {
        return new FilterRule(List.of(src), null, List.of(new NetPortRange(dst, null, new PortRange(first, last))), null, null);
    }

    static NetworkMap netmap(List<FilterRule> rules, List<String> filteredSet) {
        Node self = Node.builder().id(1L).user(1L).name("exit.tail.example.")
                .addresses(List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"))).build();
        return new NetworkMap(self, List.of(), DNSConfig.builder().exitNodeFilteredSet(filteredSet).build(), null, rules,
                Map.of(), "tail.example", null);
    }

    static Peer peer(String addr, boolean sameUser) {
        Node n = Node.builder().id(2L).user(sameUser ? 1L : 2L).name("client.tail.example.")
                .addresses(List.of(IpPrefix.parse(addr + (addr.contains(":") ? "/128" : "/32")))).build();
        return new Peer(n, null, new InetSocketAddress(IpPrefix.parseAddress(addr), 40000), sameUser);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            // case                               | peer                 | same user | offering | rule src         | rule dst         | ports    | allowed
            "our own user, not an exit node       | 100.64.0.2           | true      | false    | 100.64.0.9       | 100.64.0.1       | 22-22    | true",
            "another user, not offering           | 100.64.0.2           | false     | false    | *                | *                | 0-65535  | false",
            "another user, allowed everywhere     | 100.64.0.2           | false     | true     | *                | *                | 0-65535  | true",
            "another user, autogroup:internet     | 100.64.0.2           | false     | true     | 100.64.0.2       | 0.0.0.0/0        | 0-65535  | true",
            "another user, only DNS to the world  | 100.64.0.2           | false     | true     | 100.64.0.2       | 0.0.0.0/0        | 53-53    | true",
            "another user, only web to the world  | 100.64.0.2           | false     | true     | 100.64.0.2       | 0.0.0.0/0        | 80-443   | false",
            "another user, only this node         | 100.64.0.2           | false     | true     | 100.64.0.2       | 100.64.0.1       | 0-65535  | false",
            "another user, rule for someone else  | 100.64.0.2           | false     | true     | 100.64.0.3       | 0.0.0.0/0        | 0-65535  | false",
            "IPv6 peer, internet is 2000::/3      | fd7a:115c:a1e0::2    | false     | true     | fd7a:115c:a1e0::2| 2000::/3         | 0-65535  | true",
            "IPv6 peer, only IPv4 internet        | fd7a:115c:a1e0::2    | false     | true     | fd7a:115c:a1e0::2| 0.0.0.0/0        | 0-65535  | false",
    })
    void whoMayUseTheDnsProxy(String name, String addr, boolean sameUser, boolean offering, String src, String dst,
            String ports, boolean allowed) {
        String[] p = ports.split("-");
        NetworkMap nm = netmap(List.of(rule(src, dst, Integer.parseInt(p[0]), Integer.parseInt(p[1]))), null);
        assertThat(new DnsProxyPolicy(() -> offering).allows(peer(addr, sameUser), nm)).isEqualTo(allowed);
    }

    @ParameterizedTest(name = "{0} with {1}")
    @CsvSource({
            "example.com.,        '',                   true",
            "example.com.,        example.com,          false",
            "EXAMPLE.com.,        example.com.,         false",
            "www.example.com.,    example.com,          true",
            "www.example.com.,    .example.com,         false",
            "example.com.,        .example.com,         true",
            "badexample.com.,     .example.com,         true",
            "a.b.example.com.,    .example.com.,        false",
    })
    void exitNodeFilteredSetKeepsNamesFromTheProxy(String name, String entry, boolean allowed) {
        NetworkMap nm = netmap(List.of(), entry.isEmpty() ? List.of("") : List.of(entry));
        assertThat(DnsProxyPolicy.allowsName(nm, name)).isEqualTo(allowed);
        assertThat(DnsProxyPolicy.allowsName(netmap(List.of(), null), name)).isTrue();
        assertThat(DnsProxyPolicy.allowsName(null, name)).as("no netmap: nothing is served").isFalse();
    }
}
