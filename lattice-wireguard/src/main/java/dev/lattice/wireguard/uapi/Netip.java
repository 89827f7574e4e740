package dev.lattice.wireguard.uapi;

import dev.lattice.wire.ip.IpPrefix;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;

/**
 * Text forms of addresses, prefixes and endpoints exactly as wireguard-go reads and writes them: Go's
 * {@code net/netip} ({@code ParseAddr}, {@code ParsePrefix}, {@code ParseAddrPort}, {@code String}) and
 * {@code strconv.ParseUint}. Never resolves host names; the only lookup is of a local network interface named as
 * an IPv6 zone ({@code [fe80::1%eth0]:51820}).
 *
 * <p>Why not {@link IpPrefix#parse}/{@link IpPrefix#parseAddress}: they build on {@link InetAddress#ofLiteral},
 * which accepts {@code 1.2.3}, {@code 1}, {@code 01.2.3.4}, {@code [::1]} and five-digit IPv6 groups that
 * wireguard-go rejects, treats a bare address as a prefix, and turns {@code ::ffff:1.2.3.4} into an IPv4 address,
 * while wireguard-go keeps it IPv6 (it prints {@code ::ffff:1.2.3.4/128}). The values produced here are still
 * {@link IpPrefix} and {@link InetSocketAddress}.
 */
final class Netip {
    private Netip() {}

    /** An address as parsed: 4 or 16 bytes, and the IPv6 zone (null if none). */
    record Addr(byte[] bytes, String zone) {
        boolean is4() {
            return bytes.length == 4;
        }
    }

    // ---------------------------------------------------------------- parsing

    /** Go's {@code netip.ParseAddr}. */
    static Addr parseAddr(String s) {
        if (s.isEmpty()) throw new IllegalArgumentException("empty address");
        for (int i = 0; i < s.length(); i++) {
            switch (s.charAt(i)) {
                case '.' -> {
                    byte[] v4 = new byte[4];
                    parseIPv4Fields(s, 0, s.length(), v4, 0);
                    return new Addr(v4, null);
                }
                case ':' -> {
                    return parseIPv6(s);
                }
                case '%' -> throw new IllegalArgumentException("missing IPv6 address");
                default -> { }
            }
        }
        throw new IllegalArgumentException("unable to parse IP");
    }

    private static void parseIPv4Fields(String in, int off, int end, byte[] dst, int dstOff) {
        int val = 0, pos = 0, digLen = 0;
        for (int i = off; i < end; i++) {
            char c = in.charAt(i);
            if (c >= '0' && c <= '9') {
                if (digLen == 1 && val == 0) throw new IllegalArgumentException("IPv4 field has octet with leading zero");
                val = val * 10 + (c - '0');
                digLen++;
                if (val > 255) throw new IllegalArgumentException("IPv4 field has value >255");
            } else if (c == '.') {
                if (i == off || i == end - 1 || in.charAt(i - 1) == '.') {
                    throw new IllegalArgumentException("IPv4 field must have at least one digit");
                }
                if (pos == 3) throw new IllegalArgumentException("IPv4 address too long");
                dst[dstOff + pos++] = (byte) val;
                val = 0;
                digLen = 0;
            } else {
                throw new IllegalArgumentException("unexpected character in IPv4 address");
            }
        }
        if (pos < 3) throw new IllegalArgumentException("IPv4 address too short");
        dst[dstOff + 3] = (byte) val;
    }

    private static Addr parseIPv6(String in) {
        String s = in;
        String zone = null;
        int pct = s.indexOf('%');
        if (pct >= 0) {
            zone = s.substring(pct + 1);
            s = s.substring(0, pct);
            if (zone.isEmpty()) throw new IllegalArgumentException("zone must be a non-empty string");
        }
        byte[] ip = new byte[16];
        int ellipsis = -1;
        int p = 0; // read position in s
        if (s.length() >= 2 && s.charAt(0) == ':' && s.charAt(1) == ':') {
            ellipsis = 0;
            p = 2;
            if (p == s.length()) return new Addr(ip, zone);
        }
        int i = 0;
        while (i < 16) {
            int off = 0;
            int acc = 0;
            for (; p + off < s.length(); off++) {
                char c = s.charAt(p + off);
                int d;
                if (c >= '0' && c <= '9') d = c - '0';
                else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
                else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
                else break;
                acc = (acc << 4) + d;
                if (off > 3) throw new IllegalArgumentException("each group must have 4 or less digits");
            }
            if (off == 0) throw new IllegalArgumentException("each colon-separated field must have at least one digit");
            if (p + off < s.length() && s.charAt(p + off) == '.') {
                if (ellipsis < 0 && i != 12) {
                    throw new IllegalArgumentException("embedded IPv4 address must replace the final 2 fields of the address");
                }
                if (i + 4 > 16) {
                    throw new IllegalArgumentException("too many hex fields to fit an embedded IPv4 at the end of the address");
                }
                parseIPv4Fields(s, p, s.length(), ip, i);
                p = s.length();
                i += 4;
                break;
            }
            ip[i] = (byte) (acc >> 8);
            ip[i + 1] = (byte) acc;
            i += 2;
            p += off;
            if (p == s.length()) break;
            if (s.charAt(p) != ':') throw new IllegalArgumentException("unexpected character, want colon");
            if (p + 1 == s.length()) throw new IllegalArgumentException("colon must be followed by more characters");
            p++;
            if (s.charAt(p) == ':') {
                if (ellipsis >= 0) throw new IllegalArgumentException("multiple :: in address");
                ellipsis = i;
                p++;
                if (p == s.length()) break;
            }
        }
        if (p != s.length()) throw new IllegalArgumentException("trailing garbage after address");
        if (i < 16) {
            if (ellipsis < 0) throw new IllegalArgumentException("address string too short");
            int n = 16 - i;
            for (int j = i - 1; j >= ellipsis; j--) ip[j + n] = ip[j];
            for (int j = ellipsis; j < ellipsis + n; j++) ip[j] = 0;
        } else if (ellipsis >= 0) {
            throw new IllegalArgumentException("the :: must expand to at least one field of zeros");
        }
        return new Addr(ip, zone);
    }

    /** Go's {@code netip.ParsePrefix}, masked (as wireguard-go's allowed-IPs trie stores it). */
    static IpPrefix parsePrefix(String s) {
        int slash = s.lastIndexOf('/');
        if (slash < 0) throw new IllegalArgumentException("no '/'");
        Addr addr = parseAddr(s.substring(0, slash));
        if (addr.zone() != null) throw new IllegalArgumentException("IPv6 zones cannot be present in a prefix");
        String bitsText = s.substring(slash + 1);
        if (bitsText.length() > 1 && (bitsText.charAt(0) < '1' || bitsText.charAt(0) > '9')) {
            throw new IllegalArgumentException("bad bits after slash");
        }
        long bits = parseUint(bitsText, Integer.MAX_VALUE);
        if (bits < 0) throw new IllegalArgumentException("bad bits after slash");
        int max = addr.bytes().length * 8;
        if (bits > max) throw new IllegalArgumentException("prefix length out of range");
        byte[] masked = mask(addr.bytes(), (int) bits);
        return new IpPrefix(toInetAddress(masked, -1), (int) bits);
    }

    /**
     * Go's {@code netip.ParseAddrPort}. An IPv6 zone becomes the address's scope id; a zone naming no local
     * interface is rejected (see {@link #scopeId}).
     */
    static InetSocketAddress parseAddrPort(String s) {
        int colon = s.lastIndexOf(':');
        if (colon < 0) throw new IllegalArgumentException("not an ip:port");
        String ip = s.substring(0, colon);
        String port = s.substring(colon + 1);
        if (ip.isEmpty()) throw new IllegalArgumentException("no IP");
        if (port.isEmpty()) throw new IllegalArgumentException("no port");
        boolean bracketed = false;
        if (ip.charAt(0) == '[') {
            if (ip.length() < 2 || ip.charAt(ip.length() - 1) != ']') throw new IllegalArgumentException("missing ]");
            ip = ip.substring(1, ip.length() - 1);
            bracketed = true;
        }
        long portNumber = parseUint(port, 0xffff);
        if (portNumber < 0) throw new IllegalArgumentException("invalid port");
        Addr addr = parseAddr(ip);
        if (bracketed && addr.is4()) {
            throw new IllegalArgumentException("square brackets can only be used with IPv6 addresses");
        }
        if (!bracketed && !addr.is4()) {
            throw new IllegalArgumentException("IPv6 addresses must be surrounded by square brackets");
        }
        int scopeId = addr.zone() == null ? -1 : scopeId(addr.zone());
        return new InetSocketAddress(toInetAddress(addr.bytes(), scopeId), (int) portNumber);
    }

    /**
     * The scope id for an IPv6 zone: a number is taken as is (Linux zones are interface indexes), a name is looked
     * up as a local network interface (not a DNS lookup) and must exist.
     */
    private static int scopeId(String zone) {
        long numeric = parseUint(zone, Integer.MAX_VALUE);
        if (numeric >= 0) return (int) numeric;
        try {
            NetworkInterface nif = NetworkInterface.getByName(zone);
            if (nif == null || nif.getIndex() < 0) throw new IllegalArgumentException("no interface " + quote(zone));
            return nif.getIndex();
        } catch (SocketException e) {
            throw new IllegalArgumentException("cannot look up interface " + quote(zone) + ": " + e.getMessage());
        }
    }

    /** The zone text for a scope id: the interface's name if it exists, else the number (as Linux does). */
    private static String zoneName(Inet6Address a) {
        if (a.getScopedInterface() != null) return a.getScopedInterface().getName();
        int id = a.getScopeId();
        try {
            NetworkInterface nif = NetworkInterface.getByIndex(id);
            if (nif != null) return nif.getName();
        } catch (SocketException e) {
            // fall through to the number
        }
        return Integer.toString(id);
    }

    /**
     * Go's {@code strconv.ParseUint(s, 10, bits)} with {@code max = 2^bits - 1}: ASCII digits only (no sign, no
     * underscores), leading zeros allowed. Returns -1 when {@code s} is not such a number or exceeds {@code max}.
     */
    static long parseUint(String s, long max) {
        if (s.isEmpty()) return -1;
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') return -1;
            v = v * 10 + (c - '0');
            if (v > max) return -1;
        }
        return v;
    }

    /** Go's {@code ParseUint(s, 10, 64)}: as {@link #parseUint} but the full unsigned 64-bit range; null if bad. */
    static Long parseUint64(String s) {
        if (s.isEmpty() || s.length() > 40) return null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') return null;
        }
        try {
            return Long.parseUnsignedLong(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static byte[] mask(byte[] b, int bits) {
        byte[] out = b.clone();
        for (int i = 0; i < out.length; i++) {
            int keep = Math.clamp(bits - i * 8L, 0, 8);
            out[i] &= (byte) (0xff00 >> keep);
        }
        return out;
    }

    /** Builds the address without folding IPv4-mapped IPv6 to IPv4, and without any lookup. */
    static InetAddress toInetAddress(byte[] bytes, int scopeId) {
        try {
            return bytes.length == 4
                    ? InetAddress.getByAddress(bytes)
                    : Inet6Address.getByAddress(null, bytes, scopeId);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("address must be 4 or 16 bytes", e);
        }
    }

    // ---------------------------------------------------------------- formatting

    /** Go's {@code netip.Addr.String()}: dotted quad; RFC 5952 IPv6; {@code ::ffff:a.b.c.d} for IPv4-mapped. */
    static String format(InetAddress a) {
        byte[] b = a.getAddress();
        StringBuilder sb = new StringBuilder(40);
        if (b.length == 4) {
            appendDotted(sb, b, 0);
            return sb.toString();
        }
        if (isMapped(b)) {
            sb.append("::ffff:");
            appendDotted(sb, b, 12);
        } else {
            int zeroStart = -1, zeroEnd = -1;
            for (int i = 0; i < 8; i++) {
                int j = i;
                while (j < 8 && group(b, j) == 0) j++;
                if (j - i >= 2 && j - i > zeroEnd - zeroStart) {
                    zeroStart = i;
                    zeroEnd = j;
                }
            }
            for (int i = 0; i < 8; i++) {
                if (i == zeroStart) {
                    sb.append("::");
                    i = zeroEnd;
                    if (i >= 8) break;
                } else if (i > 0) {
                    sb.append(':');
                }
                sb.append(Integer.toHexString(group(b, i)));
            }
        }
        if (a instanceof Inet6Address v6 && (v6.getScopedInterface() != null || v6.getScopeId() != 0)) {
            sb.append('%').append(zoneName(v6));
        }
        return sb.toString();
    }

    /** Go's {@code netip.Prefix.String()}. */
    static String format(IpPrefix p) {
        return format(p.address()) + "/" + p.bits();
    }

    /** Go's {@code netip.AddrPort.String()}: {@code 1.2.3.4:51820}, {@code [::1]:51820}. */
    static String formatEndpoint(InetSocketAddress e) {
        InetAddress a = e.getAddress();
        if (a == null) return "unresolved:" + e.getPort(); // rejected by the records; never for the wire
        return a instanceof Inet4Address ? format(a) + ":" + e.getPort() : "[" + format(a) + "]:" + e.getPort();
    }

    private static boolean isMapped(byte[] b) {
        for (int i = 0; i < 10; i++) if (b[i] != 0) return false;
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }

    private static int group(byte[] b, int i) {
        return ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }

    private static void appendDotted(StringBuilder sb, byte[] b, int off) {
        for (int i = 0; i < 4; i++) {
            if (i > 0) sb.append('.');
            sb.append(b[off + i] & 0xff);
        }
    }

    /** A value quoted for an error message: escaped like Go's {@code %q} and cut to a readable length. */
    static String quote(String s) {
        int max = 64;
        StringBuilder sb = new StringBuilder(Math.min(s.length(), max) + 8).append('"');
        for (int i = 0; i < s.length() && i < max; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c >= 0x7f) {
                        sb.append(c <= 0xff ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
        if (s.length() > max) sb.append("…(").append(s.length()).append(" chars)");
        return sb.toString();
    }
}
