package dev.lattice.wire.netlink;

import static dev.lattice.wire.netlink.NetlinkMessage.NLM_F_ACK;
import static dev.lattice.wire.netlink.NetlinkMessage.NLM_F_CREATE;
import static dev.lattice.wire.netlink.NetlinkMessage.NLM_F_DUMP;
import static dev.lattice.wire.netlink.NetlinkMessage.NLM_F_EXCL;
import static dev.lattice.wire.netlink.NetlinkMessage.NLM_F_REPLACE;
import static dev.lattice.wire.netlink.NetlinkMessage.NLM_F_REQUEST;
import static dev.lattice.wire.netlink.NetlinkMessage.ORDER;
import static dev.lattice.wire.netlink.NetlinkMessage.align;

import dev.lattice.wire.ip.IpPrefix;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The rtnetlink requests a router needs, each byte for byte as iproute2's {@code ip} sends it (routes by
 * {@code RTPROT_BOOT}, a device route's scope {@code link}, a table below 256 in the header, flags below 256 in
 * {@code ifa_flags}), and what is read back from the kernel's replies.
 *
 * <pre>
 * ifinfomsg (16):    u8 family | u8 pad | u16 type | s32 index | u32 flags | u32 change
 * ifaddrmsg (8):     u8 family | u8 prefixlen | u8 flags | u8 scope | u32 index
 * rtmsg (12):        u8 family | u8 dst_len | u8 src_len | u8 tos | u8 table | u8 protocol | u8 scope | u8 type | u32 flags
 * fib_rule_hdr (12): u8 family | u8 dst_len | u8 src_len | u8 tos | u8 table | u8 res1 | u8 res2 | u8 action | u32 flags
 * </pre>
 */
public final class Rtnl {
    private Rtnl() {}

    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;

    public static final int RTM_NEWLINK = 16;
    public static final int RTM_GETLINK = 18;
    public static final int RTM_NEWADDR = 20;
    public static final int RTM_DELADDR = 21;
    public static final int RTM_NEWROUTE = 24;
    public static final int RTM_DELROUTE = 25;
    public static final int RTM_GETROUTE = 26;
    public static final int RTM_NEWRULE = 32;
    public static final int RTM_DELRULE = 33;

    static final int IFF_UP = 0x1;
    static final int IFLA_IFNAME = 3;
    static final int IFLA_MTU = 4;
    static final int IFA_ADDRESS = 1;
    static final int IFA_LOCAL = 2;
    static final int IFA_F_NODAD = 0x02;
    static final int RTA_DST = 1;
    static final int RTA_OIF = 4;
    static final int RTA_TABLE = 15;
    static final int RTN_UNICAST = 1;
    static final int RTN_THROW = 9;
    static final int RTPROT_BOOT = 3;
    static final int RT_SCOPE_UNIVERSE = 0;
    static final int RT_SCOPE_LINK = 253;
    static final int RT_SCOPE_NOWHERE = 255;
    static final int FRA_PRIORITY = 6;
    static final int FRA_FWMARK = 10;
    static final int FRA_TABLE = 15;
    static final int FRA_FWMASK = 16;

    public static final int RT_TABLE_DEFAULT = 253;
    public static final int RT_TABLE_MAIN = 254;
    public static final int FR_ACT_TO_TBL = 1;
    public static final int FR_ACT_UNREACHABLE = 7;

    /** Flags of a request that replaces or creates ({@code ip … replace}). */
    private static final int REPLACE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    /** Flags of a request that must create ({@code ip … add}). */
    private static final int ADD = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    private static final int DELETE = NLM_F_REQUEST | NLM_F_ACK;

    /** {@code ip link set dev <index> mtu <mtu> up}. */
    public static byte[] setLinkUp(int seq, int index, int mtu) {
        Request r = new Request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
        r.u8(0).u8(0).u16(0).u32(index).u32(IFF_UP).u32(IFF_UP);
        r.attrU32(IFLA_MTU, mtu);
        return r.done();
    }

    /** {@code ip link show <name>}: the link's index comes back in an {@link #RTM_NEWLINK}, see {@link #linkIndex}. */
    public static byte[] getLink(int seq, String name) {
        Request r = new Request(RTM_GETLINK, NLM_F_REQUEST, seq);
        r.u8(0).u8(0).u16(0).u32(0).u32(0).u32(0);
        r.attrString(IFLA_IFNAME, name);
        return r.done();
    }

    /** {@code ip address replace <p> dev <index> [nodad]}, or {@code ip address del <p> dev <index>}. */
    public static byte[] address(boolean add, int seq, int index, IpPrefix p, boolean nodad) {
        Request r = new Request(add ? RTM_NEWADDR : RTM_DELADDR, add ? REPLACE : DELETE, seq);
        int flags = add && nodad ? IFA_F_NODAD : 0;
        r.u8(family(p)).u8(p.bits()).u8(flags).u8(RT_SCOPE_UNIVERSE).u32(index);
        r.attr(IFA_LOCAL, p.bytes());
        r.attr(IFA_ADDRESS, p.bytes());
        return r.done();
    }

    /**
     * {@code ip route replace <dst> dev <oif> table <table>}, {@code ip route replace throw <dst> table <table>}, or
     * the {@code del} of either ({@code oif} 0 for a throw route).
     */
    public static byte[] route(boolean add, int seq, IpPrefix dst, int table, int oif, boolean isThrow) {
        Request r = new Request(add ? RTM_NEWROUTE : RTM_DELROUTE, add ? REPLACE : DELETE, seq);
        int type = isThrow ? RTN_THROW : add ? RTN_UNICAST : 0;
        int scope = !add ? RT_SCOPE_NOWHERE : isThrow ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
        r.u8(family(dst)).u8(dst.bits()).u8(0).u8(0).u8(table < 256 ? table : 0).u8(add ? RTPROT_BOOT : 0)
                .u8(scope).u8(type).u32(0);
        if (dst.bits() > 0) r.attr(RTA_DST, dst.bytes());
        if (oif != 0) r.attrU32(RTA_OIF, oif);
        if (table >= 256) r.attrU32(RTA_TABLE, table);
        return r.done();
    }

    /** A dump of one family's routes (every table; {@link #routeTable} tells which). */
    public static byte[] dumpRoutes(int seq, int family) {
        Request r = new Request(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq);
        r.u8(family).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u32(0);
        return r.done();
    }

    /** The delete of a route a dump returned: its own body back as {@link #RTM_DELROUTE} ({@code ip route flush}). */
    public static byte[] deleteRoute(int seq, NetlinkMessage route) {
        if (route.type() != RTM_NEWROUTE) throw new IllegalArgumentException("not a route: message type " + route.type());
        Request r = new Request(RTM_DELROUTE, DELETE, seq);
        r.bytes(route.body());
        return r.done();
    }

    /**
     * {@code ip rule add pref <pref> [fwmark <mark>/<mask>] table <table>} (or {@code type unreachable} with
     * {@link #FR_ACT_UNREACHABLE}), or its {@code del}, which matches by pref and action only ({@code fwmask} 0: no mark).
     */
    public static byte[] rule(boolean add, int seq, int family, int pref, int fwmark, int fwmask, int table, int action) {
        Request r = new Request(add ? RTM_NEWRULE : RTM_DELRULE, add ? ADD : DELETE, seq);
        int t = action == FR_ACT_TO_TBL ? table : 0;
        // A delete by table leaves the action unspecified, as ip does: the kernel then matches on the table alone.
        int act = !add && action == FR_ACT_TO_TBL ? 0 : action;
        r.u8(family).u8(0).u8(0).u8(0).u8(t < 256 ? t : 0).u8(0).u8(0).u8(act).u32(0);
        r.attrU32(FRA_PRIORITY, pref);
        if (fwmask != 0) {
            r.attrU32(FRA_FWMARK, fwmark);
            r.attrU32(FRA_FWMASK, fwmask);
        }
        if (t >= 256) r.attrU32(FRA_TABLE, t);
        return r.done();
    }

    /** The index in an {@link #RTM_NEWLINK} reply. */
    public static int linkIndex(NetlinkMessage m) throws NetlinkException {
        if (m.type() != RTM_NEWLINK || m.body().length < 16) throw new NetlinkException("not a link message: type " + m.type());
        return ByteBuffer.wrap(m.body()).order(ORDER).getInt(4);
    }

    /** The table of an {@link #RTM_NEWROUTE} message: {@code RTA_TABLE} if there, else the header's byte. */
    public static int routeTable(NetlinkMessage m) throws NetlinkException {
        if (m.type() != RTM_NEWROUTE || m.body().length < 12) throw new NetlinkException("not a route message: type " + m.type());
        for (NetlinkMessage.Attr a : NetlinkMessage.Attr.parse(m.body(), 12, m.body().length - 12)) {
            if (a.type() == RTA_TABLE) return a.u32();
        }
        return Byte.toUnsignedInt(m.body()[4]);
    }

    static int family(IpPrefix p) {
        return p.isIPv4() ? AF_INET : AF_INET6;
    }

    /** A request's bytes as they are appended, the length written at the end. */
    private static final class Request {
        private ByteBuffer b = ByteBuffer.allocate(128).order(ORDER);

        Request(int type, int flags, int seq) {
            b.putInt(0).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
        }

        private Request room(int n) {
            if (b.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n)).order(ORDER);
                bigger.put(b.flip());
                b = bigger;
            }
            return this;
        }

        Request u8(int v) {
            room(1).b.put((byte) v);
            return this;
        }

        Request u16(int v) {
            room(2).b.putShort((short) v);
            return this;
        }

        Request u32(int v) {
            room(4).b.putInt(v);
            return this;
        }

        Request bytes(byte[] v) {
            room(v.length).b.put(v);
            return this;
        }

        void attr(int type, byte[] data) {
            int len = 4 + data.length;
            room(align(len));
            b.putShort((short) len).putShort((short) type).put(data);
            for (int i = len; i < align(len); i++) b.put((byte) 0);
        }

        void attrU32(int type, int v) {
            attr(type, ByteBuffer.allocate(4).order(ORDER).putInt(v).array());
        }

        void attrString(int type, String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            attr(type, Arrays.copyOf(utf8, utf8.length + 1)); // NUL-terminated, as the kernel's strings are
        }

        byte[] done() {
            int len = b.position();
            b.putInt(0, len);
            byte[] out = new byte[len];
            b.get(0, out);
            return out;
        }
    }
}
