package dev.lattice.wire.ip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class IpPrefixTest {
    @Test
    void parsesAndFormatsCanonically() {
        assertThat(IpPrefix.parse("100.64.0.0/10").toString()).isEqualTo("100.64.0.0/10");
        assertThat(IpPrefix.parse("fd7a:115c:a1e0:0:0:0:0:0/48").toString()).isEqualTo("fd7a:115c:a1e0::/48");
        assertThat(IpPrefix.parse("10.1.2.3").toString()).isEqualTo("10.1.2.3/32");
        assertThat(IpPrefix.parse("::1").toString()).isEqualTo("::1/128");
    }

    @Test
    void masksHostBitsSoEqualPrefixesAreEqual() {
        assertThat(IpPrefix.parse("10.1.2.3/8")).isEqualTo(IpPrefix.parse("10.0.0.0/8"));
        assertThat(IpPrefix.parse("fd00::1/64")).isEqualTo(IpPrefix.parse("fd00::/64"));
    }

    @Test
    void ipv4MappedLiteralsCountTheirLengthFromBit96() {
        assertThat(IpPrefix.parse("::ffff:1.2.3.4/120")).isEqualTo(IpPrefix.parse("1.2.3.0/24"));
        assertThatThrownBy(() -> IpPrefix.parse("::ffff:1.2.3.4/64")).hasMessageContaining("IPv4-mapped");
    }

    @Test
    void rejectsBadInputWithAClearMessageAndNeverLooksUpNames() {
        assertThatThrownBy(() -> IpPrefix.parse("example.com/8")).hasMessageContaining("bad IP address");
        assertThatThrownBy(() -> IpPrefix.parse("10.0.0.0/33")).hasMessageContaining("too large");
        assertThatThrownBy(() -> IpPrefix.parse("10.0.0.0/")).hasMessageContaining("bad prefix length");
        assertThatThrownBy(() -> IpPrefix.parse("")).hasMessageContaining("empty");
        assertThatThrownBy(() -> IpPrefix.parse("fe80::1%eth0/64")).hasMessageContaining("bad IP address");
    }

    @Test
    void containsMatchesOnlyTheSameFamily() {
        IpPrefix p = IpPrefix.parse("10.0.0.0/8");
        assertThat(p.contains(IpPrefix.parseAddress("10.255.0.1"))).isTrue();
        assertThat(p.contains(IpPrefix.parseAddress("11.0.0.1"))).isFalse();
        assertThat(p.contains(IpPrefix.parseAddress("::a00:1"))).isFalse();
    }

    /** Go's net.JoinHostPort form, not Java's "/127.0.0.1:8080". */
    @Test
    void socketAddressesPrintAsHostPort() {
        assertThat(IpPrefix.hostPort(new java.net.InetSocketAddress("127.0.0.1", 8080))).isEqualTo("127.0.0.1:8080");
        assertThat(IpPrefix.hostPort(new java.net.InetSocketAddress("::1", 443))).isEqualTo("[::1]:443");
        assertThat(IpPrefix.hostPort(new java.net.InetSocketAddress(3478))).isIn("0.0.0.0:3478", "[::]:3478");
        assertThat(IpPrefix.hostPort(java.net.InetSocketAddress.createUnresolved("ctl.example", 80))).isEqualTo("ctl.example:80");
    }
}
