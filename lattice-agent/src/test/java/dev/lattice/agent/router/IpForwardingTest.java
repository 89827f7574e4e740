package dev.lattice.agent.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.agent.system.HostEnv;
import dev.lattice.wire.ip.IpPrefix;
import java.io.IOException;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** tailscale's CheckIPForwarding decisions, with the sysctls that are off named in every warning. */
class IpForwardingTest {
    static final String KB = "\nSee https://tailscale.com/s/ip-forwarding";

    /** A host with lo, eth0 (192.168.1.5/24), eth1.5 (10.9.0.1/16) and the given sysctls. */
    static HostEnv host(Map<String, String> sysctls) {
        return new HostEnv() {
            @Override
            public String hostname() {
                return "h";
            }

            @Override
            public Set<InetAddress> addresses(String exclude) {
                return Set.of();
            }

            @Override
            public String env(String name) {
                return null;
            }

            @Override
            public List<Interface> interfaces() {
                return List.of(new Interface("lo", true, List.of(Address.parse("127.0.0.1/8"))),
                        new Interface("eth0", false, List.of(Address.parse("192.168.1.5/24"))),
                        new Interface("eth1.5", false, List.of(Address.parse("10.9.0.1/16"))));
            }

            @Override
            public String sysctl(String path) {
                return sysctls.get(path);
            }
        };
    }

    static Map<String, String> sysctls(String v4, String v6, String eth0, String eth15) {
        Map<String, String> m = new HashMap<>();
        m.put("net/ipv4/ip_forward", v4);
        m.put("net/ipv6/conf/all/forwarding", v6);
        m.put("net/ipv4/conf/eth0/forwarding", eth0);
        m.put("net/ipv4/conf/eth1.5/forwarding", eth15);
        return m;
    }

    static List<IpPrefix> routes(String... r) {
        return java.util.Arrays.stream(r).map(IpPrefix::parse).toList();
    }

    @Test
    void allOnOrNothingToForwardIsFine() throws IOException {
        assertThat(IpForwarding.check(routes("10.1.0.0/24", "0.0.0.0/0", "::/0"), host(sysctls("1", "1", "1", "1")))).isNull();
        assertThat(IpForwarding.check(routes(), host(sysctls("0", "0", "0", "0")))).isNull();
        assertThat(IpForwarding.check(routes("192.168.1.5/32"), host(sysctls("0", "0", "0", "0"))))
                .as("a route to the machine's own address needs no forwarding").isNull();
    }

    @Test
    void forwardingOffEverywhereNamesTheGlobalSysctl() throws IOException {
        var w = IpForwarding.check(routes("10.1.0.0/24"), host(sysctls("0", "1", "0", "0")));
        assertThat(w.message()).isEqualTo("IP forwarding is disabled, subnet routing/exit nodes will not work"
                + " (sysctl net.ipv4.ip_forward is 0)." + KB);
        assertThat(w.sysctlsOff()).containsExactly("net.ipv4.ip_forward");
        assertThat(w.healthText()).isEqualTo("Subnet routing is enabled, but IP forwarding is disabled. Check that IP"
                + " forwarding is enabled on your machine (off: net.ipv4.ip_forward).");
    }

    @Test
    void forwardingOnSomeInterfacesListsTheOthers() throws IOException {
        var w = IpForwarding.check(routes("10.1.0.0/24", "0.0.0.0/0", "::/0"), host(sysctls("0", "0", "1", "0")));
        assertThat(w.message()).isEqualTo("IPv6 forwarding is disabled.\n"
                + "Traffic received on eth1.5 won't be forwarded (net.ipv4.conf.eth1/5.forwarding disabled)\n"
                + "Subnet routes and exit nodes may not work correctly." + KB);
        assertThat(w.sysctlsOff()).containsExactly("net.ipv6.conf.all.forwarding", "net.ipv4.conf.eth1/5.forwarding");
    }

    @Test
    void ipv6OnlyRoutesOnlyNeedIpv6Forwarding() throws IOException {
        assertThat(IpForwarding.check(routes("fd00:1::/64"), host(sysctls("0", "1", "0", "0")))).isNull();
        var w = IpForwarding.check(routes("fd00:1::/64"), host(sysctls("1", "0", "1", "1")));
        assertThat(w.message()).isEqualTo("IPv6 forwarding is disabled, subnet routing/exit nodes may not work"
                + " (sysctl net.ipv6.conf.all.forwarding is 0)." + KB);
        // Exit routes with only IPv6 off: IPv4 works, IPv6 does not.
        var exit = IpForwarding.check(routes("0.0.0.0/0", "::/0"), host(sysctls("1", "0", "1", "1")));
        assertThat(exit.message()).startsWith("IPv6 forwarding is disabled.\nSubnet routes and exit nodes may not work correctly.");
    }

    @Test
    void aSysctlThatCannotBeReadIsAnErrorNotAWarning() {
        Map<String, String> m = sysctls("1", "1", "1", "1");
        m.remove("net/ipv6/conf/all/forwarding");
        assertThatThrownBy(() -> IpForwarding.check(routes("10.1.0.0/24"), host(m))).isInstanceOf(IOException.class)
                .hasMessageStartingWith("Couldn't check system's IP forwarding configuration, subnet routing/exit nodes may not work:"
                        + " no sysctl net.ipv6.conf.all.forwarding");
    }
}
