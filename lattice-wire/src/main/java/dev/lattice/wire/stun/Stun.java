package dev.lattice.wire.stun;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32;

/**
 * STUN binding messages as Tailscale sends and expects them.
 *
 * <pre>
 * header (20): type u16 | attributes length u16 | magic cookie 21 12 A4 42 | transaction id (12)
 * attribute:   type u16 | length u16 | value, padded to a multiple of 4
 * Tailscale request  = 0x0001 header | SOFTWARE (0x8022) "tailnode" | FINGERPRINT (0x8028) crc32 ^ 0x5354554E
 * Binding response   = 0x0101 header | XOR-MAPPED-ADDRESS (0x0020): 0 | family | port ^ 0x2112 | ip ^ (cookie ‖ txid)
 * RFC 3489 (classic) = no cookie; a 16-byte transaction id; MAPPED-ADDRESS (0x0001) in clear
 * </pre>
 */
public final class Stun {
    public static final int HEADER_LEN = 20;
    public static final int ATTR_MAPPED_ADDRESS = 0x0001;
    public static final int ATTR_CHANGE_REQUEST = 0x0003;
    public static final int ATTR_SOURCE_ADDRESS = 0x0004;
    public static final int ATTR_XOR_MAPPED_ADDRESS = 0x0020;
    /** Not in the RFC but sent by some servers (the comprehension-optional twin); Go accepts it too. */
    public static final int ATTR_XOR_MAPPED_ADDRESS_ALT = 0x8020;
    public static final int ATTR_SOFTWARE = 0x8022;
    public static final int ATTR_FINGERPRINT = 0x8028;
    public static final int MAGIC_COOKIE = 0x2112A442;
    public static final String SOFTWARE = "tailnode";
    private static final int FINGERPRINT_XOR = 0x5354554E;
    private static final int FINGERPRINT_ATTR_LEN = 8;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Stun() {}

    /** A transaction id: 12 bytes (RFC 5389), or 16 for an RFC 3489 request (cookie position included). */
    public record TxId(byte[] bytes) {
        public TxId {
            if (bytes == null || (bytes.length != 12 && bytes.length != 16)) {
                throw new IllegalArgumentException("STUN transaction id must be 12 (or 16 for RFC 3489) bytes");
            }
            bytes = bytes.clone();
        }

        public static TxId random() {
            byte[] b = new byte[12];
            RANDOM.nextBytes(b);
            return new TxId(b);
        }

        @Override
        public byte[] bytes() {
            return bytes.clone();
        }

        boolean classic() {
            return bytes.length == 16;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TxId t && Arrays.equals(bytes, t.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return HexFormat.of().formatHex(bytes);
        }
    }

    /** What kind of binding request a server received; it decides the response's layout. */
    public enum Dialect {
        /** SOFTWARE "tailnode" and a valid FINGERPRINT, as tailscale's own server requires. */
        TAILSCALE,
        /** Any other RFC 5389 binding request (magic cookie present). */
        RFC5389,
        /** RFC 3489: no magic cookie, answered with MAPPED-ADDRESS. */
        RFC3489
    }

    public record BindingRequest(TxId txId, Dialect dialect, boolean changeRequested) {}

    public record BindingResponse(TxId txId, InetSocketAddress mapped) {}

    /** Like Go's {@code stun.Is}: at least a header, top two bits clear, magic cookie in place. */
    public static boolean is(byte[] b, int len) {
        return len >= HEADER_LEN && len <= b.length && (b[0] & 0xc0) == 0 && getU32(b, 4) == MAGIC_COOKIE;
    }

    /** The Tailscale binding request: SOFTWARE then FINGERPRINT, 48 bytes, byte for byte like Go's {@code stun.Request}. */
    public static byte[] request(TxId tx) {
        if (tx.classic()) throw new IllegalArgumentException("requests use 12-byte transaction ids");
        byte[] sw = SOFTWARE.getBytes(StandardCharsets.US_ASCII);
        byte[] b = new byte[HEADER_LEN + 4 + sw.length + FINGERPRINT_ATTR_LEN];
        putU16(b, 0, 0x0001);
        putU16(b, 2, b.length - HEADER_LEN);
        putU32(b, 4, MAGIC_COOKIE);
        System.arraycopy(tx.bytes, 0, b, 8, 12);
        putU16(b, 20, ATTR_SOFTWARE);
        putU16(b, 22, sw.length);
        System.arraycopy(sw, 0, b, 24, sw.length);
        int fpOff = 24 + sw.length;
        putU16(b, fpOff, ATTR_FINGERPRINT);
        putU16(b, fpOff + 2, 4);
        putU32(b, fpOff + 4, fingerprint(b, fpOff));
        return b;
    }

    /**
     * Strict parse as Go's {@code stun.ParseBindingRequest}: a binding request from Tailscale software ending in
     * a correct FINGERPRINT.
     */
    public static TxId parseTailscaleRequest(byte[] b, int len) {
        BindingRequest r = parseBindingRequest(b, len);
        if (r.dialect() != Dialect.TAILSCALE) throw new StunException("STUN request came from non-Tailscale software");
        return r.txId();
    }

    /**
     * Parses any binding request a server should answer: Tailscale's, other RFC 5389 clients' (a FINGERPRINT,
     * if present, must be right) and RFC 3489 ones.
     */
    public static BindingRequest parseBindingRequest(byte[] b, int len) {
        if (len < HEADER_LEN || len > b.length) throw new StunException("not a STUN packet: too short");
        if ((b[0] & 0xc0) != 0) throw new StunException("not a STUN packet: top bits set");
        if (getU16(b, 0) != 0x0001) throw new StunException("STUN request not a binding request");
        int attrsLen = getU16(b, 2);
        if ((attrsLen & 3) != 0 || HEADER_LEN + attrsLen > len) throw new StunException("STUN request has a bad length");
        boolean cookie = getU32(b, 4) == MAGIC_COOKIE;
        int end = HEADER_LEN + attrsLen;
        boolean softwareOk = false;
        boolean changeRequested = false;
        int lastAttr = -1;
        int fpAt = -1;
        int off = HEADER_LEN;
        while (off < end) {
            if (end - off < 4) throw new StunException("STUN request has malformed attributes");
            int t = getU16(b, off);
            int l = getU16(b, off + 2);
            int padded = (l + 3) & ~3;
            if (padded > end - off - 4) throw new StunException("STUN request has malformed attributes");
            if (t == ATTR_SOFTWARE && l == SOFTWARE.length()
                    && new String(b, off + 4, l, StandardCharsets.US_ASCII).equals(SOFTWARE)) softwareOk = true;
            if (t == ATTR_FINGERPRINT) {
                if (l != 4) throw new StunException("STUN request had bogus fingerprint");
                fpAt = off;
            }
            if (t == ATTR_CHANGE_REQUEST && l == 4 && (b[off + 7] & 0x06) != 0) changeRequested = true;
            lastAttr = t;
            off += 4 + padded;
        }
        if (!cookie) {
            byte[] tx = Arrays.copyOfRange(b, 4, 20);
            return new BindingRequest(new TxId(tx), Dialect.RFC3489, changeRequested);
        }
        TxId tx = new TxId(Arrays.copyOfRange(b, 8, 20));
        if (fpAt >= 0) {
            if (lastAttr != ATTR_FINGERPRINT) throw new StunException("STUN request didn't end in fingerprint");
            // RFC 5389 §15.5: the CRC covers the message up to the attribute, with the header length as sent.
            if (getU32(b, fpAt + 4) != fingerprint(b, fpAt)) throw new StunException("STUN request had bogus fingerprint");
        }
        Dialect d = softwareOk && fpAt >= 0 ? Dialect.TAILSCALE : Dialect.RFC5389;
        return new BindingRequest(tx, d, changeRequested);
    }

    /**
     * A success response with one XOR-MAPPED-ADDRESS, exactly as Go's {@code stun.Response}; for an RFC 3489
     * transaction id, the classic layout with MAPPED-ADDRESS instead.
     */
    public static byte[] response(TxId tx, InetSocketAddress mapped) {
        byte[] ip = mapped.getAddress().getAddress();
        int fam = ip.length == 4 ? 1 : 2;
        int attrLen = 4 + ip.length;
        byte[] b = new byte[HEADER_LEN + 4 + attrLen];
        putU16(b, 0, 0x0101);
        putU16(b, 2, 4 + attrLen);
        int port = mapped.getPort();
        if (tx.classic()) {
            System.arraycopy(tx.bytes, 0, b, 4, 16);
            putU16(b, 20, ATTR_MAPPED_ADDRESS);
            putU16(b, 22, attrLen);
            b[25] = (byte) fam;
            putU16(b, 26, port);
            System.arraycopy(ip, 0, b, 28, ip.length);
            return b;
        }
        putU32(b, 4, MAGIC_COOKIE);
        System.arraycopy(tx.bytes, 0, b, 8, 12);
        putU16(b, 20, ATTR_XOR_MAPPED_ADDRESS);
        putU16(b, 22, attrLen);
        b[25] = (byte) fam;
        putU16(b, 26, port ^ (MAGIC_COOKIE >>> 16));
        for (int i = 0; i < ip.length; i++) b[28 + i] = (byte) (ip[i] ^ b[4 + i]); // cookie ‖ txid sit at 4..20
        return b;
    }

    /**
     * Parses a success response like Go's {@code stun.ParseResponse}: XOR-MAPPED-ADDRESS (0x0020 or 0x8020) wins,
     * MAPPED-ADDRESS is the fallback; trailing bytes after the declared length are ignored.
     */
    public static BindingResponse parseResponse(byte[] b, int len) {
        if (!is(b, len)) throw new StunException("response is not a STUN packet");
        TxId tx = new TxId(Arrays.copyOfRange(b, 8, 20));
        if (b[0] != 0x01 || b[1] != 0x01) throw new StunException("STUN packet is not a success response");
        int attrsLen = getU16(b, 2);
        if (HEADER_LEN + attrsLen > len) throw new StunException("STUN response has malformed attributes");
        int end = HEADER_LEN + attrsLen;
        InetSocketAddress xor = null;
        InetSocketAddress plain = null;
        int off = HEADER_LEN;
        while (off < end) {
            if (end - off < 4) throw new StunException("STUN response has malformed attributes");
            int t = getU16(b, off);
            int l = getU16(b, off + 2);
            int padded = (l + 3) & ~3;
            if (padded > end - off - 4) throw new StunException("STUN response has malformed attributes");
            int v = off + 4;
            if (t == ATTR_XOR_MAPPED_ADDRESS || t == ATTR_XOR_MAPPED_ADDRESS_ALT) {
                xor = address(b, v, l, true);
            } else if (t == ATTR_MAPPED_ADDRESS) {
                plain = address(b, v, l, false);
            }
            off += 4 + padded;
        }
        if (xor != null) return new BindingResponse(tx, xor);
        if (plain != null) return new BindingResponse(tx, plain);
        throw new StunException("STUN response has no mapped address");
    }

    private static InetSocketAddress address(byte[] b, int v, int l, boolean xor) {
        if (l < 4) throw new StunException("STUN response has malformed attributes");
        int n = switch (b[v + 1]) {
            case 1 -> 4;
            case 2 -> 16;
            default -> throw new StunException("STUN response has malformed attributes: unknown address family");
        };
        if (l - 4 < n) throw new StunException("STUN response has malformed attributes");
        int port = getU16(b, v + 2);
        byte[] ip = Arrays.copyOfRange(b, v + 4, v + 4 + n);
        if (xor) {
            port ^= MAGIC_COOKIE >>> 16;
            for (int i = 0; i < n; i++) ip[i] ^= b[4 + i];
        }
        try {
            // Address bytes only: no name lookup; IPv4-mapped IPv6 becomes IPv4 like Go's Unmap.
            return new InetSocketAddress(InetAddress.getByAddress(ip), port);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** CRC-32 of b[0..end) XOR 0x5354554E (RFC 5389 §15.5). */
    static int fingerprint(byte[] b, int end) {
        CRC32 crc = new CRC32();
        crc.update(b, 0, end);
        return (int) crc.getValue() ^ FINGERPRINT_XOR;
    }

    static int getU16(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }

    static int getU32(byte[] b, int off) {
        return (b[off] & 0xff) << 24 | (b[off + 1] & 0xff) << 16 | (b[off + 2] & 0xff) << 8 | (b[off + 3] & 0xff);
    }

    static void putU16(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
    }

    static void putU32(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }
}
