package dev.lattice.agent.filter;

import dev.lattice.wire.ip.IpPrefix;
import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A set of prefixes of one address family, tested against address bytes inside a packet without copying.
 * Also parses the filter's address syntax (tailscale {@code parseIPSet}).
 */
final class AddrSet {
    private final byte[][] addrs;
    private final int[] bits;

    AddrSet(List<IpPrefix> prefixes) {
        addrs = new byte[prefixes.size()][];
        bits = new int[prefixes.size()];
        for (int i = 0; i < prefixes.size(); i++) {
            addrs[i] = prefixes.get(i).bytes();
            bits[i] = prefixes.get(i).bits();
        }
    }

    boolean isEmpty() {
        return addrs.length == 0;
    }

    /** Whether the {@code len}-byte address at {@code b[off]} is in the set (family must match). */
    boolean contains(byte[] b, int off, int len) {
        for (int i = 0; i < addrs.length; i++) {
            if (addrs[i].length == len && matches(addrs[i], bits[i], b, off)) return true;
        }
        return false;
    }

    static boolean matches(byte[] p, int bits, byte[] b, int off) {
        int full = bits >>> 3;
        for (int i = 0; i < full; i++) if (p[i] != b[off + i]) return false;
        int rem = bits & 7;
        if (rem == 0) return true;
        int m = (0xff << (8 - rem)) & 0xff;
        return (p[full] & m) == (b[off + full] & m);
    }

    /**
     * Parses {@code "*"} (every IPv4 and IPv6 address), an address, a CIDR with no host bits set, or an inclusive
     * range {@code "a-b"} of one family into prefixes. Throws IllegalArgumentException on anything else.
     */
    static List<IpPrefix> parse(String arg) {
        if (arg == null || arg.isEmpty()) throw new IllegalArgumentException("empty address");
        if (arg.equals("*")) {
            return List.of(IpPrefix.parse("0.0.0.0/0"), IpPrefix.parse("::/0"));
        }
        if (arg.indexOf('/') >= 0) {
            IpPrefix p = IpPrefix.parse(arg);
            InetAddress raw = IpPrefix.parseAddress(arg.substring(0, arg.indexOf('/')));
            if (!raw.equals(p.address())) throw new IllegalArgumentException(arg + " contains non-network bits set");
            return List.of(p);
        }
        int dash = arg.indexOf('-');
        if (dash >= 0 && dash == arg.lastIndexOf('-')) {
            byte[] a = IpPrefix.parseAddress(arg.substring(0, dash)).getAddress();
            byte[] z = IpPrefix.parseAddress(arg.substring(dash + 1)).getAddress();
            if (a.length != z.length) throw new IllegalArgumentException("invalid IP range \"" + arg + "\"");
            BigInteger lo = new BigInteger(1, a), hi = new BigInteger(1, z);
            if (lo.compareTo(hi) > 0) throw new IllegalArgumentException("invalid IP range \"" + arg + "\"");
            return rangePrefixes(lo, hi, a.length * 8);
        }
        return List.of(IpPrefix.parse(arg));
    }

    /** The fewest prefixes covering exactly {@code [lo, hi]}. */
    static List<IpPrefix> rangePrefixes(BigInteger lo, BigInteger hi, int width) {
        List<IpPrefix> out = new ArrayList<>();
        BigInteger one = BigInteger.ONE;
        while (lo.compareTo(hi) <= 0) {
            // The largest aligned block starting at lo that does not pass hi.
            int size = lo.signum() == 0 ? width : lo.getLowestSetBit();
            while (size > 0 && lo.add(one.shiftLeft(size)).subtract(one).compareTo(hi) > 0) size--;
            out.add(IpPrefix.of(toBytes(lo, width / 8), width - size));
            lo = lo.add(one.shiftLeft(size));
        }
        return out;
    }

    private static byte[] toBytes(BigInteger v, int n) {
        byte[] raw = v.toByteArray();
        byte[] out = new byte[n];
        int copy = Math.min(n, raw.length);
        System.arraycopy(raw, raw.length - copy, out, n - copy, copy);
        return out;
    }
}
