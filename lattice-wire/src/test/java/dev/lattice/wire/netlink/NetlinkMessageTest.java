package dev.lattice.wire.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Splitting the kernel's datagrams into messages and reading acks: what it sends is read, anything else refused. */
class NetlinkMessageTest {
    /** An NLMSG_ERROR as a socket with NETLINK_CAP_ACK and NETLINK_EXT_ACK gets it. */
    static byte[] error(int seq, int errno, String text) {
        byte[] msg = text == null ? new byte[0] : (text + "\0").getBytes(StandardCharsets.UTF_8);
        int attrs = text == null ? 0 : NetlinkMessage.align(4 + msg.length);
        int len = 16 + 4 + 16 + attrs;
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.nativeOrder());
        int flags = NetlinkMessage.NLM_F_CAPPED | (text == null ? 0 : NetlinkMessage.NLM_F_ACK_TLVS);
        b.putInt(len).putShort((short) NetlinkMessage.NLMSG_ERROR).putShort((short) flags).putInt(seq).putInt(0);
        b.putInt(-errno);
        b.putInt(44).putShort((short) 24).putShort((short) 0x505).putInt(seq).putInt(0); // the request's header
        if (text != null) b.putShort((short) (4 + msg.length)).putShort((short) NetlinkMessage.NLMSGERR_ATTR_MSG).put(msg);
        return b.array();
    }

    static byte[] concat(byte[]... parts) {
        ByteBuffer b = ByteBuffer.allocate(java.util.Arrays.stream(parts).mapToInt(p -> p.length).sum());
        for (byte[] p : parts) b.put(p);
        return b.array();
    }

    @Test
    void oneDatagramCarriesSeveralAcksEachWithItsSequenceNumber() throws NetlinkException {
        byte[] d = concat(error(7, 0, null), error(8, 100, "Device for nexthop is not up"), error(9, 3, null));
        List<NetlinkMessage> ms = NetlinkMessage.parse(d, 0, d.length);
        assertThat(ms).hasSize(3);
        assertThat(ms.get(0).ack()).isEqualTo(new NetlinkMessage.Ack(7, 0, null));
        assertThat(ms.get(1).ack()).isEqualTo(new NetlinkMessage.Ack(8, 100, "Device for nexthop is not up"));
        assertThat(ms.get(1).ack().ok()).isFalse();
        assertThat(ms.get(2).ack()).isEqualTo(new NetlinkMessage.Ack(9, 3, null));
    }

    @Test
    void anUncappedErrorCarriesTheWholeRequestBeforeItsAttributes() throws NetlinkException {
        byte[] req = Rtnl.route(true, 5, dev.lattice.wire.ip.IpPrefix.parse("10.0.0.0/8"), 52, 2, false);
        byte[] text = "no\0".getBytes(StandardCharsets.UTF_8);
        int len = 16 + 4 + req.length + NetlinkMessage.align(4 + text.length);
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.nativeOrder());
        b.putInt(len).putShort((short) 2).putShort((short) NetlinkMessage.NLM_F_ACK_TLVS).putInt(5).putInt(0);
        b.putInt(-22).put(req).putShort((short) (4 + text.length)).putShort((short) 1).put(text);
        NetlinkMessage m = NetlinkMessage.parse(b.array(), 0, len).getFirst();
        assertThat(m.ack()).isEqualTo(new NetlinkMessage.Ack(5, 22, "no"));
    }

    @Test
    void lengthsOutsideTheDatagramAreRefused() {
        byte[] d = error(1, 0, null);
        assertThatThrownBy(() -> NetlinkMessage.parse(d, 0, d.length - 1)).isInstanceOf(NetlinkException.class);
        byte[] shortLen = d.clone();
        shortLen[0] = 8;
        assertThatThrownBy(() -> NetlinkMessage.parse(shortLen, 0, shortLen.length)).isInstanceOf(NetlinkException.class);
        assertThatThrownBy(() -> new NetlinkMessage(2, 0, 1, 0, new byte[4]).ack()).isInstanceOf(NetlinkException.class);
        assertThatThrownBy(() -> new NetlinkMessage(3, 0, 1, 0, new byte[40]).ack()).isInstanceOf(NetlinkException.class);
    }

    /** Random and mutated datagrams: parsed (and their acks, links and routes read) or refused, nothing else. */
    @Test
    void mutatedDatagramsAreReadOrRefusedNeverCrash() {
        Random r = new Random(20261206);
        byte[] good = concat(error(7, 0, null), error(8, 100, "Device for nexthop is not up"));
        for (int i = 0; i < 50_000; i++) {
            byte[] d = i % 4 == 0 ? randomBytes(r) : good.clone();
            if (i % 4 != 0) for (int k = 1 + r.nextInt(4); k > 0; k--) d[r.nextInt(d.length)] = (byte) r.nextInt(256);
            try {
                for (NetlinkMessage m : NetlinkMessage.parse(d, 0, d.length)) {
                    try {
                        m.ack();
                    } catch (NetlinkException expected) {
                        // refused is fine
                    }
                    try {
                        Rtnl.routeTable(new NetlinkMessage(Rtnl.RTM_NEWROUTE, 0, 0, 0, m.body()));
                    } catch (NetlinkException expected) {
                        // refused is fine
                    }
                }
            } catch (NetlinkException expected) {
                // refused is fine
            }
        }
    }

    static byte[] randomBytes(Random r) {
        byte[] b = new byte[r.nextInt(80)];
        r.nextBytes(b);
        if (b.length >= 4 && r.nextBoolean()) ByteBuffer.wrap(b).order(ByteOrder.nativeOrder()).putInt(0, b.length);
        return b;
    }
}
