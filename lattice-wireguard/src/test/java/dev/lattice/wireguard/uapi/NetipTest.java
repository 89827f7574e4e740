package dev.lattice.wireguard.uapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.wire.ip.IpPrefix;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Addresses, prefixes and endpoints are read and written as Go's net/netip does (wireguard-go's parser). */
class NetipTest {

    @ParameterizedTest(name = "{0} is read as {1}")
    @CsvSource(delimiter = '|', textBlock = """
            1.2.3.4                  | 1.2.3.4
            0.0.0.0                  | 0.0.0.0
            255.255.255.255          | 255.255.255.255
            ::                       | ::
            ::1                      | ::1
            1::                      | 1::
            FE80::0001               | fe80::1
            0001:0002::              | 1:2::
            1:2:3:4:5:6:7:8          | 1:2:3:4:5:6:7:8
            ::ffff:1.2.3.4           | ::ffff:1.2.3.4
            ::FFFF:1.2.3.4           | ::ffff:1.2.3.4
            1:2:3:4:5:6:1.2.3.4      | 1:2:3:4:5:6:102:304
            ::1.2.3.4                | ::102:304
            2001:db8:0:0:1:0:0:1     | 2001:db8::1:0:0:1
            1:0:2:3:4:5:6:7          | 1:0:2:3:4:5:6:7
            0:0:1:0:0:0:2:3          | 0:0:1::2:3
            """)
    void acceptsWhatGoAcceptsAndPrintsItTheGoWay(String text, String printed) {
        Netip.Addr addr = Netip.parseAddr(text);
        assertThat(Netip.format(Netip.toInetAddress(addr.bytes(), -1))).isEqualTo(printed);
    }

    @ParameterizedTest(name = "rejects \"{0}\"")
    @ValueSource(strings = {
            "", "1.2.3", "1", "01.2.3.4", "1.2.3.04", "1.2.3.256", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4.5",
            "0x1.2.3.4", " 1.2.3.4", "1.2.3.4 ", "[::1]", "00001::", "1::2::3", "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::8", "1:", ":1", "1:::2", "g::1", "::1%", "%eth0", "1.2.3.4%eth0",
            "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::01.2.3.4", "localhost", "١.٢.٣.٤", "::١"})
    void rejectsWhatGoRejects(String text) {
        assertThatThrownBy(() -> Netip.parseAddr(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void keepsTheZoneOfAnIpv6AddressAside() {
        Netip.Addr addr = Netip.parseAddr("fe80::1%eth0");
        assertThat(addr.zone()).isEqualTo("eth0");
        assertThat(addr.bytes()).hasSize(16);
    }

    @ParameterizedTest(name = "prefix {0} is {1}")
    @CsvSource(delimiter = '|', textBlock = """
            10.0.0.0/8              | 10.0.0.0/8
            10.1.2.3/8              | 10.0.0.0/8
            0.0.0.0/0               | 0.0.0.0/0
            1.2.3.4/32              | 1.2.3.4/32
            fd00::1/64              | fd00::/64
            ::/0                    | ::/0
            ::1/128                 | ::1/128
            1:0:0:2::/64            | 1:0:0:2::/64
            ::ffff:1.2.3.4/120      | ::ffff:1.2.3.0/120
            ::ffff:1.2.3.4/128      | ::ffff:1.2.3.4/128
            """)
    void prefixesAreMaskedLikeWireguardGoStoresThem(String text, String printed) {
        IpPrefix p = Netip.parsePrefix(text);
        assertThat(Netip.format(p)).isEqualTo(printed);
    }

    @Test
    void ipv4MappedPrefixStaysIpv6() {
        IpPrefix p = Netip.parsePrefix("::ffff:1.2.3.4/120");
        assertThat(p.address()).isInstanceOf(Inet6Address.class);
        assertThat(p.bits()).isEqualTo(120);
        assertThat(p.bytes()).hasSize(16);
    }

    @ParameterizedTest(name = "rejects prefix \"{0}\"")
    @ValueSource(strings = {
            "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/08", "10.0.0.0/+8", "10.0.0.0/-1",
            "10.0.0.0/8/8", "fe80::%1/64", "10.0.0/8", "/8", "10.0.0.0/ 8", "10.0.0.0/99999999999999999999"})
    void rejectsPrefixesGoRejects(String text) {
        assertThatThrownBy(() -> Netip.parsePrefix(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "endpoint {0} is {1}")
    @CsvSource(delimiter = '|', textBlock = """
            1.2.3.4:51820           | 1.2.3.4:51820
            1.2.3.4:080             | 1.2.3.4:80
            1.2.3.4:0               | 1.2.3.4:0
            1.2.3.4:65535           | 1.2.3.4:65535
            [::1]:51820             | [::1]:51820
            [2001:DB8::1]:1         | [2001:db8::1]:1
            [::ffff:1.2.3.4]:80     | [::ffff:1.2.3.4]:80
            """)
    void endpointsAreReadAndPrintedLikeNetipAddrPort(String text, String printed) {
        InetSocketAddress e = Netip.parseAddrPort(text);
        assertThat(e.isUnresolved()).isFalse();
        assertThat(Netip.formatEndpoint(e)).isEqualTo(printed);
    }

    @Test
    void ipv4MappedEndpointStaysIpv6AndIpv4StaysIpv4() {
        assertThat(Netip.parseAddrPort("[::ffff:1.2.3.4]:80").getAddress()).isInstanceOf(Inet6Address.class);
        assertThat(Netip.parseAddrPort("1.2.3.4:80").getAddress()).isInstanceOf(Inet4Address.class);
    }

    @ParameterizedTest(name = "rejects endpoint \"{0}\"")
    @ValueSource(strings = {
            "1.2.3.4", "1.2.3.4:", ":80", "[1.2.3.4]:80", "::1:80", "[::1]80", "[::1:80", "1.2.3.4:65536",
            "1.2.3.4:+80", "1.2.3.4:8_0", "1.2.3.4:-1", "01.2.3.4:80", "[fe80::1%nosuchif0]:80", "[fe80::1%]:80",
            "[fe80::1%99999999999]:80",
            "localhost:80", "example.com:51820", "[]:80", ""})
    void rejectsEndpointsWithoutEverResolvingNames(String text) {
        assertThatThrownBy(() -> Netip.parseAddrPort(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void anEndpointZoneIsALocalInterfaceOrAnIndex() throws Exception {
        InetSocketAddress lo = Netip.parseAddrPort("[fe80::1%lo]:51820");
        assertThat(((Inet6Address) lo.getAddress()).getScopeId())
                .isEqualTo(java.net.NetworkInterface.getByName("lo").getIndex());
        assertThat(Netip.formatEndpoint(lo)).isEqualTo("[fe80::1%lo]:51820");
        InetSocketAddress numeric = Netip.parseAddrPort("[fe80::1%4000000]:1");
        assertThat(((Inet6Address) numeric.getAddress()).getScopeId()).isEqualTo(4_000_000);
        assertThat(Netip.formatEndpoint(numeric)).isEqualTo("[fe80::1%4000000]:1");
    }

    @ParameterizedTest(name = "ParseUint(\"{0}\", 16) = {1}")
    @CsvSource(textBlock = """
            0, 0
            65535, 65535
            065535, 65535
            0000000000000000000000000001, 1
            65536, -1
            '', -1
            +1, -1
            -1, -1
            1_0, -1
            ' 1', -1
            0x10, -1
            99999999999999999999999999, -1
            """)
    void parseUintIsGoStrconvParseUint(String text, long expected) {
        assertThat(Netip.parseUint(text, 0xffff)).isEqualTo(expected);
    }

    @Test
    void quotingEscapesControlBytesAndCutsLongValues() {
        assertThat(Netip.quote("a\"b\\c\n\u0000\u00ff")).isEqualTo("\"a\\\"b\\\\c\\n\\x00\\xff\"");
        assertThat(Netip.quote("x".repeat(1000))).startsWith("\"" + "x".repeat(64) + "\"").endsWith("(1000 chars)");
    }
}
