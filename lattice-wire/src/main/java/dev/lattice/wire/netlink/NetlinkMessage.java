package dev.lattice.wire.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One netlink message: its header's type, flags, sequence number and port id, and the body after the header.
 *
 * <pre>
 * nlmsghdr (16 bytes): u32 len (header included) | u16 type | u16 flags | u32 seq | u32 pid
 * rtattr (4 bytes, then data, padded to 4): u16 len (header and data, unpadded) | u16 type
 * nlmsgerr (type 2): s32 error (0: an ack, else -errno) | the request's nlmsghdr [| its body, unless CAPPED]
 *                    [| rtattrs, with ACK_TLVS: NLMSGERR_ATTR_MSG (1) is the kernel's text]
 * </pre>
 */
public record NetlinkMessage(int type, int flags, int seq, int pid, byte[] body) {
    public static final int HEADER = 16;
    public static final int NLMSG_ERROR = 2;
    public static final int NLMSG_DONE = 3;
    public static final int NLM_F_REQUEST = 0x1;
    public static final int NLM_F_MULTI = 0x2;
    public static final int NLM_F_ACK = 0x4;
    public static final int NLM_F_DUMP = 0x300;
    public static final int NLM_F_REPLACE = 0x100;
    public static final int NLM_F_EXCL = 0x200;
    public static final int NLM_F_CREATE = 0x400;
    /** In an error's flags: the request's body was left out. */
    public static final int NLM_F_CAPPED = 0x100;
    /** In an error's flags: attributes (the extended ack) follow. */
    public static final int NLM_F_ACK_TLVS = 0x200;
    static final int NLMSGERR_ATTR_MSG = 1;

    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** What the kernel said to one request: {@code errno} 0 for done, and its extended-ack text if it gave one. */
    public record Ack(int seq, int errno, String text) {
        public boolean ok() {
            return errno == 0;
        }
    }

    /** Splits a datagram from a netlink socket into its messages. */
    public static List<NetlinkMessage> parse(byte[] buf, int off, int len) throws NetlinkException {
        if (off < 0 || len < 0 || off + len > buf.length) throw new IllegalArgumentException("range outside the buffer");
        ByteBuffer b = ByteBuffer.wrap(buf, off, len).order(ORDER);
        List<NetlinkMessage> out = new ArrayList<>();
        int end = off + len;
        while (end - b.position() >= HEADER) {
            int start = b.position();
            long mlen = Integer.toUnsignedLong(b.getInt());
            if (mlen < HEADER || mlen > end - start) {
                throw new NetlinkException("netlink message length " + mlen + " at offset " + (start - off)
                        + " outside the " + len + "-byte datagram");
            }
            int type = Short.toUnsignedInt(b.getShort());
            int flags = Short.toUnsignedInt(b.getShort());
            int seq = b.getInt();
            int pid = b.getInt();
            byte[] body = new byte[(int) mlen - HEADER];
            b.get(body);
            out.add(new NetlinkMessage(type, flags, seq, pid, body));
            b.position(Math.min(end, start + align((int) mlen)));
        }
        if (b.position() != end) throw new NetlinkException((end - b.position()) + " trailing bytes after the last netlink message");
        return out;
    }

    /** The ack or error in an {@link #NLMSG_ERROR} message; its sequence number is the request's. */
    public Ack ack() throws NetlinkException {
        if (type != NLMSG_ERROR) throw new NetlinkException("netlink message type " + type + " is not an error/ack");
        if (body.length < 4 + HEADER) throw new NetlinkException("netlink error message of " + body.length + " bytes is too short");
        ByteBuffer b = ByteBuffer.wrap(body).order(ORDER);
        int error = b.getInt();
        long reqLen = Integer.toUnsignedLong(b.getInt(4));
        if (error > 0 || error == Integer.MIN_VALUE) throw new NetlinkException("netlink error code " + error + " is not a -errno");
        String text = null;
        if ((flags & NLM_F_ACK_TLVS) != 0) {
            long attrs = 4 + ((flags & NLM_F_CAPPED) != 0 ? HEADER : (reqLen + 3) & ~3L);
            if (attrs < 4 + HEADER || attrs > body.length) {
                throw new NetlinkException("netlink error's request of " + reqLen + " bytes outside its " + body.length + "-byte body");
            }
            for (Attr a : Attr.parse(body, (int) attrs, body.length - (int) attrs)) {
                if (a.type() == NLMSGERR_ATTR_MSG) text = a.string();
            }
        }
        return new Ack(seq, -error, text);
    }

    /** Rounds up to netlink's 4-byte alignment. */
    static int align(int n) {
        return (n + 3) & ~3;
    }

    /** One attribute (rtattr / nlattr): its type (flag bits removed) and data. */
    public record Attr(int type, byte[] data) {
        public int u32() throws NetlinkException {
            if (data.length < 4) throw new NetlinkException("attribute " + type + " of " + data.length + " bytes is no u32");
            return ByteBuffer.wrap(data).order(ORDER).getInt();
        }

        public String string() {
            int n = 0;
            while (n < data.length && data[n] != 0) n++;
            return new String(data, 0, n, StandardCharsets.UTF_8);
        }

        /** The attributes in {@code buf[off..off+len)}. */
        public static List<Attr> parse(byte[] buf, int off, int len) throws NetlinkException {
            ByteBuffer b = ByteBuffer.wrap(buf, off, len).order(ORDER);
            List<Attr> out = new ArrayList<>();
            int end = off + len;
            while (end - b.position() >= 4) {
                int start = b.position();
                int alen = Short.toUnsignedInt(b.getShort());
                int type = Short.toUnsignedInt(b.getShort()) & 0x3fff; // NLA_F_NESTED, NLA_F_NET_BYTEORDER
                if (alen < 4 || alen > end - start) {
                    throw new NetlinkException("attribute length " + alen + " at offset " + (start - off) + " outside its message");
                }
                byte[] data = new byte[alen - 4];
                b.get(data);
                out.add(new Attr(type, data));
                b.position(Math.min(end, start + align(alen)));
            }
            return out;
        }
    }
}
