package dev.lattice.wire.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.wire.ip.IpPrefix;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The requests byte for byte as iproute2's {@code ip} sends them: each expected datagram was captured with
 * {@code strace -e trace=sendmsg -e write=3 ip …} (iproute2 6.1 on x86-64, sequence number 0x6b1557ff, link index 2).
 */
class RtnlTest {
    static final int SEQ = 0x6b1557ff;

    @BeforeAll
    static void capturedOnALittleEndianHost() {
        Assumptions.assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "the captures are little-endian");
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    static String ip(String dump) {
        return dump.replace(" ", "");
    }

    static IpPrefix p(String s) {
        return IpPrefix.parse(s);
    }

    @Test
    void routeReplaceAndDeleteThroughTheDevice() {
        // ip route replace 100.64.0.2/32 dev lt0 table 52
        assertThat(hex(Rtnl.route(true, SEQ, p("100.64.0.2/32"), 52, 2, false))).isEqualTo(ip(
                "2c000000 18000505 ff57156b 00000000 02200000 3403fd01 00000000 08000100 64400002 08000400 02000000"));
        // ip route del 100.64.0.2/32 dev lt0 table 52
        assertThat(hex(Rtnl.route(false, SEQ, p("100.64.0.2/32"), 52, 2, false))).isEqualTo(ip(
                "2c000000 19000500 ff57156b 00000000 02200000 3400ff00 00000000 08000100 64400002 08000400 02000000"));
    }

    @Test
    void throwRoutes() {
        // ip route replace throw 192.168.1.0/24 table 52
        assertThat(hex(Rtnl.route(true, SEQ, p("192.168.1.0/24"), 52, 0, true))).isEqualTo(ip(
                "24000000 18000505 ff57156b 00000000 02180000 34030009 00000000 08000100 c0a80100"));
        // ip route del throw 192.168.1.0/24 table 52
        assertThat(hex(Rtnl.route(false, SEQ, p("192.168.1.0/24"), 52, 0, true))).isEqualTo(ip(
                "24000000 19000500 ff57156b 00000000 02180000 3400ff09 00000000 08000100 c0a80100"));
    }

    @Test
    void aDefaultRouteHasNoDestinationAndABigTableGoesInAnAttribute() {
        byte[] r = Rtnl.route(true, SEQ, p("0.0.0.0/0"), 1000, 2, false);
        // header, rtmsg with table 0 (RT_TABLE_UNSPEC), RTA_OIF, RTA_TABLE 1000
        assertThat(hex(r)).isEqualTo(ip(
                "2c000000 18000505 ff57156b 00000000 02000000 0003fd01 00000000 08000400 02000000 08000f00 e8030000"));
    }

    @Test
    void addresses() {
        // ip address replace 100.64.0.1/32 dev lt0
        assertThat(hex(Rtnl.address(true, SEQ, 2, p("100.64.0.1/32"), false))).isEqualTo(ip(
                "28000000 14000505 ff57156b 00000000 02200000 02000000 08000200 64400001 08000100 64400001"));
        // ip address del 100.64.0.1/32 dev lt0
        assertThat(hex(Rtnl.address(false, SEQ, 2, p("100.64.0.1/32"), false))).isEqualTo(ip(
                "28000000 15000500 ff57156b 00000000 02200000 02000000 08000200 64400001 08000100 64400001"));
        // ip address replace fd7a:115c:a1e0::1/128 dev lt0 nodad
        assertThat(hex(Rtnl.address(true, SEQ, 2, p("fd7a:115c:a1e0::1/128"), true))).isEqualTo(ip(
                "40000000 14000505 ff57156b 00000000 0a800200 02000000 14000200 fd7a115c a1e00000 00000000 00000001"
                        + " 14000100 fd7a115c a1e00000 00000000 00000001"));
    }

    @Test
    void rules() {
        // ip -4 rule add pref 5210 fwmark 0x80000/0xff0000 table main
        assertThat(hex(Rtnl.rule(true, SEQ, Rtnl.AF_INET, 5210, 0x80000, 0xff0000, Rtnl.RT_TABLE_MAIN, Rtnl.FR_ACT_TO_TBL)))
                .isEqualTo(ip("34000000 20000506 ff57156b 00000000 02000000 fe000001 00000000 08000600 5a140000"
                        + " 08000a00 00000800 08001000 0000ff00"));
        // ip -6 rule add pref 5250 fwmark 0x80000/0xff0000 type unreachable
        assertThat(hex(Rtnl.rule(true, SEQ, Rtnl.AF_INET6, 5250, 0x80000, 0xff0000, 0, Rtnl.FR_ACT_UNREACHABLE)))
                .isEqualTo(ip("34000000 20000506 ff57156b 00000000 0a000000 00000007 00000000 08000600 82140000"
                        + " 08000a00 00000800 08001000 0000ff00"));
        // ip -4 rule add pref 5270 table 52
        assertThat(hex(Rtnl.rule(true, SEQ, Rtnl.AF_INET, 5270, 0, 0, 52, Rtnl.FR_ACT_TO_TBL)))
                .isEqualTo(ip("24000000 20000506 ff57156b 00000000 02000000 34000001 00000000 08000600 96140000"));
        // ip -4 rule del pref 5270 table 52
        assertThat(hex(Rtnl.rule(false, SEQ, Rtnl.AF_INET, 5270, 0, 0, 52, Rtnl.FR_ACT_TO_TBL)))
                .isEqualTo(ip("24000000 21000500 ff57156b 00000000 02000000 34000000 00000000 08000600 96140000"));
        // ip -4 rule del pref 5250 type unreachable
        assertThat(hex(Rtnl.rule(false, SEQ, Rtnl.AF_INET, 5250, 0, 0, 0, Rtnl.FR_ACT_UNREACHABLE)))
                .isEqualTo(ip("24000000 21000500 ff57156b 00000000 02000000 00000007 00000000 08000600 82140000"));
    }

    @Test
    void linkUpWithItsMtu() {
        // ip link set dev lt0 mtu 1280 up
        assertThat(hex(Rtnl.setLinkUp(SEQ, 2, 1280))).isEqualTo(ip(
                "28000000 10000500 ff57156b 00000000 00000000 02000000 01000000 01000000 08000400 00050000"));
    }

    @Test
    void aLinkIsAskedForByNameAndItsIndexReadBack() throws NetlinkException {
        byte[] req = Rtnl.getLink(SEQ, "lattice0");
        // header, ifinfomsg of zeros, IFLA_IFNAME "lattice0\0" padded to 4
        assertThat(hex(req)).isEqualTo(ip("30000000 12000100 ff57156b 00000000 00000000 00000000 00000000 00000000"
                + " 0d000300 6c617474 69636530 00000000"));
        byte[] reply = HexFormat.of().parseHex(ip("20000000 10000000 ff57156b 00000000 00000001 07000000 01000000 00000000"));
        List<NetlinkMessage> ms = NetlinkMessage.parse(reply, 0, reply.length);
        assertThat(Rtnl.linkIndex(ms.getFirst())).isEqualTo(7);
    }

    @Test
    void aDumpedRouteIsDeletedWithItsOwnBodyAndItsTableReadFromTheAttributeFirst() throws NetlinkException {
        // A dumped route in table 52: rtmsg with 52, then RTA_TABLE 52, RTA_DST, RTA_OIF.
        byte[] dumped = HexFormat.of().parseHex(ip("34000000 18000200 01000000 00000000 02200000 3403fd01 00000000"
                + " 08000f00 34000000 08000100 64400002 08000400 02000000"));
        NetlinkMessage m = NetlinkMessage.parse(dumped, 0, dumped.length).getFirst();
        assertThat(Rtnl.routeTable(m)).isEqualTo(52);
        byte[] del = Rtnl.deleteRoute(SEQ, m);
        assertThat(hex(del)).isEqualTo(ip("34000000 19000500 ff57156b 00000000") + hex(m.body()));
        // A table past 255: the header says 252 (RT_TABLE_COMPAT), the attribute the truth.
        byte[] big = HexFormat.of().parseHex(ip("24000000 18000200 01000000 00000000 02000000 fc03fd01 00000000"
                + " 08000f00 e8030000"));
        assertThat(Rtnl.routeTable(NetlinkMessage.parse(big, 0, big.length).getFirst())).isEqualTo(1000);
        assertThatThrownBy(() -> Rtnl.linkIndex(m)).isInstanceOf(NetlinkException.class);
    }
}
