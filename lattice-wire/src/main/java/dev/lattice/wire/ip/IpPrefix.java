package dev.lattice.wire.ip;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 or IPv6 prefix such as {@code 100.64.0.0/10} or {@code fd7a:115c:a1e0::/48}. The address is kept
 * masked to the prefix length, so equal prefixes compare equal whatever host bits were written.
 */
public record IpPrefix(InetAddress address, int bits) {

    public IpPrefix {
        if (address == null) throw new IllegalArgumentException("prefix address is null");
        int max = address instanceof Inet4Address ? 32 : 128;
        if (bits < 0 || bits > max) {
            throw new IllegalArgumentException("prefix length " + bits + " out of range 0.." + max);
        }
        if (bits != max) address = mask(address, bits); // a host prefix has nothing to mask (and is the common case)
    }

    /** Parses {@code addr/bits}, or a bare address as a single-host prefix. Never does a DNS lookup. */
    public static IpPrefix parse(String text) {
        if (text == null || text.isEmpty()) throw new IllegalArgumentException("empty IP prefix");
        int slash = text.indexOf('/');
        String addrText = slash < 0 ? text : text.substring(0, slash);
        InetAddress addr = parseAddress(addrText);
        // An IPv4-mapped IPv6 literal comes back as IPv4: its prefix length counts from bit 96.
        int folded = addr instanceof Inet4Address && addrText.indexOf(':') >= 0 ? 96 : 0;
        int max = addr.getAddress().length * 8;
        int bits = max;
        if (slash >= 0) {
            String b = text.substring(slash + 1);
            if (b.isEmpty() || b.length() > 3 || !b.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("bad prefix length in \"" + text + "\"");
            }
            bits = Integer.parseInt(b) - folded;
            if (bits > max) throw new IllegalArgumentException("prefix length too large in \"" + text + "\"");
            if (bits < 0) throw new IllegalArgumentException("prefix too short for an IPv4-mapped address in \"" + text + "\"");
        }
        return new IpPrefix(addr, bits);
    }

    /** Parses an IPv4 or IPv6 literal (no zone, no brackets); never resolves names. */
    public static InetAddress parseAddress(String text) {
        if (text.isEmpty() || text.indexOf('%') >= 0) {
            throw new IllegalArgumentException("bad IP address \"" + text + "\"");
        }
        try {
            // Java has no IPv4-mapped IPv6 addresses: ofLiteral folds them to IPv4, which parse() accounts for.
            return InetAddress.ofLiteral(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad IP address \"" + text + "\"");
        }
    }

    public static IpPrefix of(byte[] address, int bits) {
        try {
            return new IpPrefix(InetAddress.getByAddress(address), bits);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("address must be 4 or 16 bytes");
        }
    }

    public boolean isIPv4() {
        return address instanceof Inet4Address;
    }

    /** Address bytes, 4 or 16 long (a copy). */
    public byte[] bytes() {
        return address.getAddress();
    }

    public boolean contains(InetAddress a) {
        byte[] x = a.getAddress();
        byte[] p = address.getAddress();
        if (x.length != p.length) return false;
        return prefixMatches(p, x, bits);
    }

    static boolean prefixMatches(byte[] p, byte[] x, int bits) {
        int full = bits / 8;
        for (int i = 0; i < full; i++) if (p[i] != x[i]) return false;
        int rem = bits % 8;
        if (rem == 0) return true;
        int m = (0xff << (8 - rem)) & 0xff;
        return (p[full] & m) == (x[full] & m);
    }

    private static InetAddress mask(InetAddress a, int bits) {
        byte[] b = a.getAddress();
        boolean changed = false;
        for (int i = 0; i < b.length; i++) {
            int keep = Math.max(0, Math.min(8, bits - i * 8));
            byte m = (byte) (0xff << (8 - keep));
            if (keep == 0) m = 0;
            if ((b[i] & ~m) != 0) {
                b[i] &= m;
                changed = true;
            }
        }
        if (!changed) return a;
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public String toString() {
        return format(address) + "/" + bits;
    }

    /**
     * A socket address as Go's {@code net.JoinHostPort} writes it: {@code 127.0.0.1:8080}, {@code [::1]:8080} (not
     * Java's {@code /127.0.0.1:8080}); an unresolved one keeps its host name.
     */
    public static String hostPort(java.net.InetSocketAddress a) {
        InetAddress ip = a.getAddress();
        if (ip == null) return (a.getHostString().indexOf(':') >= 0 ? "[" + a.getHostString() + "]" : a.getHostString()) + ":" + a.getPort();
        String host = format(ip);
        return (ip instanceof Inet4Address ? host : "[" + host + "]") + ":" + a.getPort();
    }

    /** Canonical text of an address: dotted quad, or RFC 5952 compressed IPv6. */
    public static String format(InetAddress a) {
        if (a instanceof Inet4Address) return a.getHostAddress();
        byte[] b = a.getAddress();
        int[] w = new int[8];
        for (int i = 0; i < 8; i++) w[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        int bestStart = -1, bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (w[i] != 0) { i++; continue; }
            int j = i;
            while (j < 8 && w[j] == 0) j++;
            if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') sb.append(':');
            sb.append(Integer.toHexString(w[i]));
        }
        return sb.toString();
    }
}
