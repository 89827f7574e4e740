package dev.lattice.agent.filter;

import dev.lattice.wire.ip.IpPrefix;
import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A set of IPv4 and IPv6 addresses built by adding and removing prefixes (go4.org/netipx's IPSetBuilder, as far as
 * tailscale's filter setup uses it), then read back as the fewest prefixes. Not thread-safe; build, then read.
 */
public final class IpSet {
    /** Disjoint, sorted, non-adjacent closed ranges, one list per family. */
    private final List<BigInteger[]> v4 = new ArrayList<>();
    private final List<BigInteger[]> v6 = new ArrayList<>();

    public IpSet add(IpPrefix p) {
        BigInteger[] r = range(p);
        List<BigInteger[]> l = list(p.isIPv4());
        List<BigInteger[]> out = new ArrayList<>(l.size() + 1);
        BigInteger lo = r[0], hi = r[1];
        boolean placed = false;
        for (BigInteger[] x : l) {
            if (x[1].add(BigInteger.ONE).compareTo(lo) < 0) {
                out.add(x);
            } else if (hi.add(BigInteger.ONE).compareTo(x[0]) < 0) {
                if (!placed) {
                    out.add(new BigInteger[] {lo, hi});
                    placed = true;
                }
                out.add(x);
            } else {
                lo = lo.min(x[0]);
                hi = hi.max(x[1]);
            }
        }
        if (!placed) out.add(new BigInteger[] {lo, hi});
        l.clear();
        l.addAll(out);
        return this;
    }

    public IpSet add(InetAddress a) {
        return add(new IpPrefix(a, a.getAddress().length * 8));
    }

    public IpSet remove(IpPrefix p) {
        BigInteger[] r = range(p);
        List<BigInteger[]> l = list(p.isIPv4());
        List<BigInteger[]> out = new ArrayList<>(l.size() + 1);
        for (BigInteger[] x : l) {
            if (x[1].compareTo(r[0]) < 0 || x[0].compareTo(r[1]) > 0) {
                out.add(x);
                continue;
            }
            if (x[0].compareTo(r[0]) < 0) out.add(new BigInteger[] {x[0], r[0].subtract(BigInteger.ONE)});
            if (x[1].compareTo(r[1]) > 0) out.add(new BigInteger[] {r[1].add(BigInteger.ONE), x[1]});
        }
        l.clear();
        l.addAll(out);
        return this;
    }

    public IpSet addAll(List<IpPrefix> ps) {
        for (IpPrefix p : ps) add(p);
        return this;
    }

    public boolean contains(InetAddress a) {
        BigInteger v = new BigInteger(1, a.getAddress());
        for (BigInteger[] x : list(a.getAddress().length == 4)) {
            if (x[0].compareTo(v) <= 0 && v.compareTo(x[1]) <= 0) return true;
        }
        return false;
    }

    /** The set as the fewest prefixes, IPv4 first, each family in address order. */
    public List<IpPrefix> prefixes() {
        List<IpPrefix> out = new ArrayList<>();
        for (BigInteger[] x : v4) out.addAll(AddrSet.rangePrefixes(x[0], x[1], 32));
        for (BigInteger[] x : v6) out.addAll(AddrSet.rangePrefixes(x[0], x[1], 128));
        return out;
    }

    private List<BigInteger[]> list(boolean ipv4) {
        return ipv4 ? v4 : v6;
    }

    private static BigInteger[] range(IpPrefix p) {
        int width = p.isIPv4() ? 32 : 128;
        BigInteger lo = new BigInteger(1, p.bytes());
        BigInteger hi = lo.add(BigInteger.ONE.shiftLeft(width - p.bits())).subtract(BigInteger.ONE);
        return new BigInteger[] {lo, hi};
    }
}
