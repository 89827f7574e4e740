package dev.lattice.control.policy;

import dev.lattice.wire.ip.IpPrefix;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An immutable set of IP addresses as sorted, disjoint, non-adjacent ranges (Go's netipx.IPSet), IPv4 and IPv6
 * kept apart. Addresses are unsigned 128-bit numbers held as (hi, lo) longs; IPv4 uses lo only. Its string
 * forms match headscale's: ranges become {@code ip}, {@code cidr} or {@code a-b}, IPv4 before IPv6.
 */
final class IpSet {
    static final IpSet EMPTY = new IpSet(new long[0], new long[0]);

    /** Ranges, 4 longs each: start hi, start lo, end hi, end lo (inclusive). */
    private final long[] v4;
    private final long[] v6;

    private IpSet(long[] v4, long[] v6) {
        this.v4 = v4;
        this.v6 = v6;
    }

    boolean isEmpty() {
        return v4.length == 0 && v6.length == 0;
    }

    static IpSet of(IpPrefix... prefixes) {
        Builder b = new Builder();
        for (IpPrefix p : prefixes) b.add(p);
        return b.build();
    }

    /** The first address of the set as (hi, lo), IPv4 before IPv6; the set must not be empty. */
    long[] first() {
        return v4.length > 0 ? new long[] {v4[0], v4[1]} : new long[] {v6[0], v6[1]};
    }

    boolean hasV4() {
        return v4.length > 0;
    }

    /** The set's ranges, each as a one-range set (for per-range work such as destinations). */
    boolean contains(InetAddress a) {
        long[] x = key(a);
        return containsKey(a instanceof Inet4Address ? v4 : v6, x[0], x[1]);
    }

    boolean containsV4(long addr) {
        return containsKey(v4, 0, addr);
    }

    boolean containsV6(long hi, long lo) {
        return containsKey(v6, hi, lo);
    }

    private static boolean containsKey(long[] r, long hi, long lo) {
        int lo_ = 0, hi_ = r.length / 4 - 1;
        while (lo_ <= hi_) {
            int mid = (lo_ + hi_) >>> 1;
            int i = mid * 4;
            if (cmp(hi, lo, r[i], r[i + 1]) < 0) hi_ = mid - 1;
            else if (cmp(hi, lo, r[i + 2], r[i + 3]) > 0) lo_ = mid + 1;
            else return true;
        }
        return false;
    }

    /** Whether any address of {@code p} is in this set. */
    boolean overlaps(IpPrefix p) {
        long[] s = key(p.address());
        long[] e = last(s, p.bits(), p.isIPv4() ? 32 : 128);
        long[] r = p.isIPv4() ? v4 : v6;
        // The first range ending at or after the prefix's start overlaps it iff it starts before the prefix's end.
        int lo = 0, hi = r.length / 4;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cmp(r[mid * 4 + 2], r[mid * 4 + 3], s[0], s[1]) < 0) lo = mid + 1;
            else hi = mid;
        }
        return lo < r.length / 4 && cmp(r[lo * 4], r[lo * 4 + 1], e[0], e[1]) <= 0;
    }

    /** Whether every address of this set is in {@code other}. */
    boolean subsetOf(IpSet other) {
        return subset(v4, other.v4) && subset(v6, other.v6);
    }

    private static boolean subset(long[] a, long[] b) {
        outer:
        for (int i = 0; i < a.length; i += 4) {
            for (int j = 0; j < b.length; j += 4) {
                if (cmp(b[j], b[j + 1], a[i], a[i + 1]) <= 0 && cmp(b[j + 2], b[j + 3], a[i + 2], a[i + 3]) >= 0) continue outer;
            }
            return false;
        }
        return true;
    }

    IpSet union(IpSet o) {
        if (o.isEmpty()) return this;
        if (isEmpty()) return o;
        Builder b = new Builder();
        b.addAll(this);
        b.addAll(o);
        return b.build();
    }

    /** This set without the addresses of {@code o}. */
    IpSet minus(IpSet o) {
        return new IpSet(subtract(v4, o.v4), subtract(v6, o.v6));
    }

    private static long[] subtract(long[] a, long[] b) {
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < a.length; i += 4) {
            long sh = a[i], sl = a[i + 1], eh = a[i + 2], el = a[i + 3];
            boolean empty = false;
            for (int j = 0; j < b.length && !empty; j += 4) {
                if (cmp(b[j + 2], b[j + 3], sh, sl) < 0 || cmp(b[j], b[j + 1], eh, el) > 0) continue;
                if (cmp(b[j], b[j + 1], sh, sl) > 0) {
                    long[] before = dec(b[j], b[j + 1]);
                    out.add(new long[] {sh, sl, before[0], before[1]});
                }
                if (cmp(b[j + 2], b[j + 3], eh, el) >= 0) {
                    empty = true;
                } else {
                    long[] after = inc(b[j + 2], b[j + 3]);
                    sh = after[0];
                    sl = after[1];
                }
            }
            if (!empty) out.add(new long[] {sh, sl, eh, el});
        }
        long[] r = new long[out.size() * 4];
        for (int i = 0; i < out.size(); i++) System.arraycopy(out.get(i), 0, r, i * 4, 4);
        return r;
    }

    /** headscale's ipSetToStrings: one IP, an exact CIDR, or {@code first-last}; IPv4 first. */
    List<String> strings() {
        List<String> out = new ArrayList<>();
        strings(v4, 32, out);
        strings(v6, 128, out);
        return out;
    }

    private static void strings(long[] r, int width, List<String> out) {
        for (int i = 0; i < r.length; i += 4) {
            if (r[i] == r[i + 2] && r[i + 1] == r[i + 3]) {
                out.add(format(r[i], r[i + 1], width));
                continue;
            }
            List<String> ps = new ArrayList<>(1);
            prefixes(r[i], r[i + 1], r[i + 2], r[i + 3], width, ps, 2);
            if (ps.size() == 1) out.add(ps.getFirst());
            else out.add(format(r[i], r[i + 1], width) + "-" + format(r[i + 2], r[i + 3], width));
        }
    }

    /** The minimal prefixes covering the set, single addresses without {@code /bits}; IPv4 first. */
    List<String> prefixStrings() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v4.length; i += 4) prefixes(v4[i], v4[i + 1], v4[i + 2], v4[i + 3], 32, out, Integer.MAX_VALUE);
        for (int i = 0; i < v6.length; i += 4) prefixes(v6[i], v6[i + 1], v6[i + 2], v6[i + 3], 128, out, Integer.MAX_VALUE);
        return out;
    }

    /** Each range of the set as a single-range set, in order (IPv4 first). */
    List<IpSet> prefixSets() {
        List<IpSet> out = new ArrayList<>();
        for (String s : prefixStrings()) out.add(of(IpPrefix.parse(s)));
        return out;
    }

    /** Appends the prefixes of [s, e] to out, stopping early once more than {@code limit} were produced. */
    private static void prefixes(long sh, long sl, long eh, long el, int width, List<String> out, int limit) {
        int produced = 0;
        while (cmp(sh, sl, eh, el) <= 0) {
            int tz = sl != 0 ? Long.numberOfTrailingZeros(sl) : (sh != 0 ? 64 + Long.numberOfTrailingZeros(sh) : 128);
            int k = Math.min(tz, width);
            long[] lastAddr;
            while (true) {
                lastAddr = orMask(sh, sl, k);
                if (cmp(lastAddr[0], lastAddr[1], eh, el) <= 0) break;
                k--;
            }
            int bits = width - k;
            out.add(bits == width ? format(sh, sl, width) : format(sh, sl, width) + "/" + bits);
            if (++produced > limit) return;
            if (lastAddr[0] == eh && lastAddr[1] == el) return;
            long[] next = inc(lastAddr[0], lastAddr[1]);
            sh = next[0];
            sl = next[1];
        }
    }

    private static long[] orMask(long hi, long lo, int k) {
        if (k == 0) return new long[] {hi, lo};
        if (k < 64) return new long[] {hi, lo | ((1L << k) - 1)};
        if (k == 64) return new long[] {hi, -1L};
        if (k < 128) return new long[] {hi | ((1L << (k - 64)) - 1), -1L};
        return new long[] {-1L, -1L};
    }

    static String format(long hi, long lo, int width) {
        byte[] b;
        if (width == 32) {
            b = new byte[] {(byte) (lo >>> 24), (byte) (lo >>> 16), (byte) (lo >>> 8), (byte) lo};
        } else {
            b = new byte[16];
            for (int i = 0; i < 8; i++) {
                b[i] = (byte) (hi >>> (56 - 8 * i));
                b[8 + i] = (byte) (lo >>> (56 - 8 * i));
            }
        }
        try {
            return IpPrefix.format(InetAddress.getByAddress(b));
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    static long[] key(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 4) return new long[] {0, ((b[0] & 0xffL) << 24) | ((b[1] & 0xffL) << 16) | ((b[2] & 0xffL) << 8) | (b[3] & 0xffL)};
        long hi = 0, lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = (hi << 8) | (b[i] & 0xffL);
            lo = (lo << 8) | (b[8 + i] & 0xffL);
        }
        return new long[] {hi, lo};
    }

    private static long[] last(long[] start, int bits, int width) {
        return orMask(start[0], start[1], width - bits);
    }

    static int cmp(long ah, long al, long bh, long bl) {
        int c = Long.compareUnsigned(ah, bh);
        return c != 0 ? c : Long.compareUnsigned(al, bl);
    }

    private static long[] inc(long hi, long lo) {
        return lo == -1L ? new long[] {hi + 1, 0} : new long[] {hi, lo + 1};
    }

    private static long[] dec(long hi, long lo) {
        return lo == 0 ? new long[] {hi - 1, -1L} : new long[] {hi, lo - 1};
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IpSet s && Arrays.equals(v4, s.v4) && Arrays.equals(v6, s.v6);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(v4) + Arrays.hashCode(v6);
    }

    @Override
    public String toString() {
        return strings().toString();
    }

    /** Collects ranges in any order; {@link #build()} sorts and merges them. */
    static final class Builder {
        private long[] a4 = new long[16], a6 = new long[16];
        private int n4, n6;

        Builder add(IpPrefix p) {
            long[] s = key(p.address());
            long[] e = last(s, p.bits(), p.isIPv4() ? 32 : 128);
            return addRange(p.isIPv4(), s[0], s[1], e[0], e[1]);
        }

        Builder addV4(long addr) {
            return addRange(true, 0, addr, 0, addr);
        }

        Builder addV6(long hi, long lo) {
            return addRange(false, hi, lo, hi, lo);
        }

        Builder addAll(IpSet s) {
            for (int i = 0; i < s.v4.length; i += 4) addRange(true, s.v4[i], s.v4[i + 1], s.v4[i + 2], s.v4[i + 3]);
            for (int i = 0; i < s.v6.length; i += 4) addRange(false, s.v6[i], s.v6[i + 1], s.v6[i + 2], s.v6[i + 3]);
            return this;
        }

        private Builder addRange(boolean v4, long sh, long sl, long eh, long el) {
            if (v4) {
                if (n4 + 4 > a4.length) a4 = Arrays.copyOf(a4, a4.length * 2);
                a4[n4++] = sh; a4[n4++] = sl; a4[n4++] = eh; a4[n4++] = el;
            } else {
                if (n6 + 4 > a6.length) a6 = Arrays.copyOf(a6, a6.length * 2);
                a6[n6++] = sh; a6[n6++] = sl; a6[n6++] = eh; a6[n6++] = el;
            }
            return this;
        }

        IpSet build() {
            return new IpSet(normalize(a4, n4), normalize(a6, n6));
        }

        private static long[] normalize(long[] a, int n) {
            int count = n / 4;
            if (count == 0) return new long[0];
            Integer[] idx = new Integer[count];
            for (int i = 0; i < count; i++) idx[i] = i;
            Arrays.sort(idx, (x, y) -> cmp(a[x * 4], a[x * 4 + 1], a[y * 4], a[y * 4 + 1]));
            long[] out = new long[n];
            int m = 0;
            for (int k = 0; k < count; k++) {
                int i = idx[k] * 4;
                if (m > 0) {
                    long ph = out[m - 2], pl = out[m - 1];
                    // Overlapping or adjacent (prev end + 1 >= start, without overflow at the top).
                    boolean touches = (ph == -1L && pl == -1L) || cmp(inc(ph, pl)[0], inc(ph, pl)[1], a[i], a[i + 1]) >= 0;
                    if (touches) {
                        if (cmp(a[i + 2], a[i + 3], ph, pl) > 0) {
                            out[m - 2] = a[i + 2];
                            out[m - 1] = a[i + 3];
                        }
                        continue;
                    }
                }
                out[m++] = a[i];
                out[m++] = a[i + 1];
                out[m++] = a[i + 2];
                out[m++] = a[i + 3];
            }
            return Arrays.copyOf(out, m);
        }
    }
}
