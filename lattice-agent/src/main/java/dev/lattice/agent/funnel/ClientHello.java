package dev.lattice.agent.funnel;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Reads the server name (SNI) from the first bytes a TLS client sends, without terminating TLS: the handshake
 * records are gathered (a ClientHello may span several) and the ClientHello's {@code server_name} extension is read
 * (RFC 8446 4.1.2, RFC 6066 3). The bytes come from strangers on the internet: every length is checked against what
 * is there, nothing is allocated from a length field, and anything odd is {@link Status#INVALID}.
 */
public final class ClientHello {
    /** A ClientHello larger than this is refused (browsers send under 2 KiB; post-quantum key shares stay under 4). */
    public static final int MAX_HELLO = 16 << 10;
    /** The most bytes worth reading before the answer is known: the hello, its record headers, and one record's slack. */
    public static final int MAX_BYTES = MAX_HELLO + 5 * 8 + (16 << 10);

    public enum Status { NEED_MORE, INVALID, NO_SNI, FOUND }

    /** The outcome; {@code name} is the lower-case host name when {@link Status#FOUND}. */
    public record Result(Status status, String name) {
        static final Result MORE = new Result(Status.NEED_MORE, null);
        static final Result BAD = new Result(Status.INVALID, null);
        static final Result NONE = new Result(Status.NO_SNI, null);
    }

    private ClientHello() {}

    /** Parses the first {@code len} bytes of {@code b}, the start of a connection. */
    public static Result parse(byte[] b, int len) {
        if (len < 0 || len > b.length) throw new IllegalArgumentException("len");
        // Gather the handshake bytes of the records read so far.
        byte[] hs = new byte[Math.min(len, MAX_HELLO + 4)];
        int hsLen = 0;
        int off = 0;
        int need = -1; // the handshake message's total size, once its header is in
        while (true) {
            if (need >= 0 && hsLen >= need) break;
            if (off + 5 > len) return Result.MORE;
            int type = b[off] & 0xff;
            int major = b[off + 1] & 0xff;
            int recLen = ((b[off + 3] & 0xff) << 8) | (b[off + 4] & 0xff);
            if (type != 22 || major != 3 || recLen == 0 || recLen > (16 << 10) + 2048) return Result.BAD;
            int start = off + 5;
            int avail = Math.min(recLen, len - start);
            int copy = Math.min(avail, hs.length - hsLen);
            System.arraycopy(b, start, hs, hsLen, copy);
            hsLen += copy;
            if (need < 0 && hsLen >= 4) {
                if ((hs[0] & 0xff) != 1) return Result.BAD; // not a ClientHello
                int msgLen = ((hs[1] & 0xff) << 16) | ((hs[2] & 0xff) << 8) | (hs[3] & 0xff);
                if (msgLen > MAX_HELLO || msgLen < 38) return Result.BAD;
                need = 4 + msgLen;
                if (need > hs.length) return Result.MORE; // fewer bytes read than the hello's size
            }
            if (avail < recLen) {
                if (need >= 0 && hsLen >= need) break;
                return Result.MORE;
            }
            off = start + recLen;
        }
        return hello(hs, 4, need);
    }

    /** The ClientHello body at {@code [p, end)}. */
    private static Result hello(byte[] h, int p, int end) {
        p += 2 + 32; // legacy_version, random
        if (p + 1 > end) return Result.BAD;
        int sid = h[p] & 0xff;
        if (sid > 32) return Result.BAD;
        p += 1 + sid;
        if (p + 2 > end) return Result.BAD;
        int suites = u16(h, p);
        if (suites < 2 || (suites & 1) != 0) return Result.BAD;
        p += 2 + suites;
        if (p + 1 > end) return Result.BAD;
        int comp = h[p] & 0xff;
        if (comp < 1) return Result.BAD;
        p += 1 + comp;
        if (p > end) return Result.BAD;
        if (p == end) return Result.NONE; // no extensions at all
        if (p + 2 > end) return Result.BAD;
        int extEnd = p + 2 + u16(h, p);
        if (extEnd != end) return Result.BAD;
        p += 2;
        Result found = Result.NONE;
        boolean seen = false;
        while (p < extEnd) {
            if (p + 4 > extEnd) return Result.BAD;
            int type = u16(h, p);
            int len = u16(h, p + 2);
            p += 4;
            if (p + len > extEnd) return Result.BAD;
            if (type == 0) {
                if (seen) return Result.BAD; // an extension appears at most once
                seen = true;
                found = serverName(h, p, p + len);
                if (found.status() == Status.INVALID) return found;
            }
            p += len;
        }
        return found;
    }

    private static Result serverName(byte[] h, int p, int end) {
        if (p + 2 > end || p + 2 + u16(h, p) != end) return Result.BAD;
        p += 2;
        while (p < end) {
            if (p + 3 > end) return Result.BAD;
            int type = h[p] & 0xff;
            int len = u16(h, p + 1);
            p += 3;
            if (len == 0 || p + len > end) return Result.BAD;
            if (type == 0) return hostName(h, p, len);
            p += len;
        }
        return Result.NONE;
    }

    /** A DNS host name: ASCII letters, digits, hyphens and dots, labels of 1–63, at most 253 in all. */
    private static Result hostName(byte[] h, int p, int len) {
        if (len > 253) return Result.BAD;
        int label = 0;
        for (int i = 0; i < len; i++) {
            int c = h[p + i] & 0xff;
            if (c == '.') {
                if (label == 0) return Result.BAD;
                label = 0;
                continue;
            }
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
            if (!ok || ++label > 63) return Result.BAD;
        }
        if (label == 0) return Result.BAD; // empty, or a trailing dot (RFC 6066: no trailing dot)
        return new Result(Status.FOUND, new String(h, p, len, StandardCharsets.US_ASCII).toLowerCase(Locale.ROOT));
    }

    private static int u16(byte[] b, int p) {
        return ((b[p] & 0xff) << 8) | (b[p + 1] & 0xff);
    }
}
