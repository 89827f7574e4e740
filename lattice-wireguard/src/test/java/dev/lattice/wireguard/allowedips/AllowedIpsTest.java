package dev.lattice.wireguard.allowedips;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.wire.ip.IpPrefix;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AllowedIpsTest {
    static InetAddress ip(String s) {
        return IpPrefix.parseAddress(s);
    }

    @Test
    void theLongestMatchingPrefixWinsForIpv4AndIpv6() {
        AllowedIps<String> t = new AllowedIps<>();
        t.insert(IpPrefix.parse("0.0.0.0/0"), "default");
        t.insert(IpPrefix.parse("10.0.0.0/8"), "a");
        t.insert(IpPrefix.parse("10.1.0.0/16"), "b");
        t.insert(IpPrefix.parse("10.1.2.3/32"), "c");
        t.insert(IpPrefix.parse("fd7a:115c:a1e0::/48"), "v6");
        t.insert(IpPrefix.parse("fd7a:115c:a1e0::1/128"), "host6");
        assertThat(t.lookup(ip("10.1.2.3"))).isEqualTo("c");
        assertThat(t.lookup(ip("10.1.2.4"))).isEqualTo("b");
        assertThat(t.lookup(ip("10.2.0.1"))).isEqualTo("a");
        assertThat(t.lookup(ip("192.0.2.1"))).isEqualTo("default");
        assertThat(t.lookup(ip("fd7a:115c:a1e0::1"))).isEqualTo("host6");
        assertThat(t.lookup(ip("fd7a:115c:a1e0::2"))).isEqualTo("v6");
        assertThat(t.lookup(ip("2001:db8::1"))).isNull();
    }

    @Test
    void insertingAPrefixAgainMovesItToTheNewOwner() {
        AllowedIps<String> t = new AllowedIps<>();
        t.insert(IpPrefix.parse("10.0.0.0/24"), "a");
        t.insert(IpPrefix.parse("10.0.0.0/24"), "b");
        assertThat(t.lookup(ip("10.0.0.9"))).isEqualTo("b");
        assertThat(t.prefixesOf("a")).isEmpty();
        assertThat(t.prefixesOf("b")).containsExactly(IpPrefix.parse("10.0.0.0/24"));
    }

    @Test
    void removingAPeerRemovesOnlyItsPrefixes() {
        AllowedIps<String> t = new AllowedIps<>();
        t.insert(IpPrefix.parse("10.0.0.0/8"), "a");
        t.insert(IpPrefix.parse("10.1.0.0/16"), "b");
        t.removeValue("b");
        assertThat(t.lookup(ip("10.1.0.1"))).isEqualTo("a");
        t.remove(IpPrefix.parse("10.0.0.0/8"), "b"); // not b's: no effect
        assertThat(t.lookup(ip("10.1.0.1"))).isEqualTo("a");
    }

    @Test
    void agreesWithALinearScanOnRandomTables() {
        Random rnd = new Random(5);
        AllowedIps<Integer> t = new AllowedIps<>();
        List<IpPrefix> prefixes = new ArrayList<>();
        List<Integer> owners = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            byte[] a = new byte[rnd.nextBoolean() ? 4 : 16];
            rnd.nextBytes(a);
            a[0] = (byte) (rnd.nextInt(4)); // share leading bits so prefixes nest
            IpPrefix p = IpPrefix.of(a, rnd.nextInt(a.length * 8 + 1));
            int idx = prefixes.indexOf(p);
            if (idx >= 0) {
                prefixes.remove(idx);
                owners.remove(idx);
            }
            prefixes.add(p);
            owners.add(i);
            t.insert(p, i);
        }
        for (int i = 0; i < 20_000; i++) {
            byte[] a = new byte[rnd.nextBoolean() ? 4 : 16];
            rnd.nextBytes(a);
            a[0] = (byte) (rnd.nextInt(4));
            InetAddress addr = IpPrefix.of(a, a.length * 8).address();
            Integer best = null;
            int bestBits = -1;
            for (int j = 0; j < prefixes.size(); j++) {
                IpPrefix p = prefixes.get(j);
                if (p.contains(addr) && p.bits() > bestBits) {
                    best = owners.get(j);
                    bestBits = p.bits();
                }
            }
            assertThat(t.lookup(addr)).as("%s", addr).isEqualTo(best);
        }
    }
}
