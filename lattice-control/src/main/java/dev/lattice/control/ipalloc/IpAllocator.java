package dev.lattice.control.ipalloc;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.store.Nodes;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Allocates node addresses from the configured prefixes, never one that another node holds. Thread-safe.
 *
 * <p>Never handed out (as Headscale's {@code hscontrol/db/ip.go}): each prefix's first (network) and last
 * (broadcast) address, Quad100 {@code 100.100.100.100} and {@code fd7a:115c:a1e0::53}, and the ChromeOS VM range
 * {@code 100.115.92.0/23}. Lattice also keeps out of Tailscale's 4via6 range {@code fd7a:115c:a1e0:b1a::/64}, whose
 * addresses clients treat as subnet-router translations.
 *
 * <p>Sequential (default) continues after the last address handed out and, unlike Headscale, wraps around to
 * reuse released addresses once the end of the prefix is reached; random starts each search at a uniformly
 * random address ({@link SecureRandom}) and walks forward. Either way a search skips reserved ranges in one step
 * and used addresses one by one, so it ends after at most (used + 1) steps; a full prefix throws
 * {@link PoolExhaustedException}.
 *
 * <p>The used set lives in memory, loaded once from the store at start ({@link #fromStore}); callers
 * {@link #release} addresses when they delete a node, and should release an allocation whose node was never
 * written.
 */
public final class IpAllocator {
    /** Addresses for one node; a family is null when its prefix is not configured. */
    public record Addresses(Inet4Address v4, Inet6Address v6) {}

    private static final List<IpPrefix> RESERVED = List.of(
            IpPrefix.parse("100.100.100.100/32"),
            IpPrefix.parse("100.115.92.0/23"),
            IpPrefix.parse("fd7a:115c:a1e0::53/128"),
            IpPrefix.parse("fd7a:115c:a1e0:b1a::/64"));

    private final Pool v4;
    private final Pool v6;

    public IpAllocator(IpPrefix v4, IpPrefix v6, ControlConfig.Allocation strategy, Collection<? extends InetAddress> inUse,
                       RandomGenerator random) {
        if (v4 != null && !v4.isIPv4()) throw new IllegalArgumentException("v4 prefix " + v4 + " is not IPv4");
        if (v6 != null && v6.isIPv4()) throw new IllegalArgumentException("v6 prefix " + v6 + " is not IPv6");
        this.v4 = v4 == null ? null : new Pool(v4, strategy, random);
        this.v6 = v6 == null ? null : new Pool(v6, strategy, random);
        for (InetAddress a : inUse) reserve(a);
    }

    /** An allocator for the configured prefixes that knows every address the store's nodes hold. */
    public static IpAllocator fromStore(ControlConfig.Prefixes prefixes, Nodes nodes) {
        return new IpAllocator(prefixes.v4(), prefixes.v6(), prefixes.allocation(), nodes.allAddresses(), new SecureRandom());
    }

    /** One address of each configured family, both taken or neither (if the second family is full). */
    public synchronized Addresses allocate() {
        Inet4Address a4 = v4 == null ? null : (Inet4Address) v4.next();
        Inet6Address a6;
        try {
            a6 = v6 == null ? null : (Inet6Address) v6.next();
        } catch (PoolExhaustedException e) {
            if (a4 != null) v4.release(a4);
            throw e;
        }
        return new Addresses(a4, a6);
    }

    /** Whether an IPv4 / IPv6 prefix is configured. */
    public boolean hasV4() {
        return v4 != null;
    }

    public boolean hasV6() {
        return v6 != null;
    }

    /** One address of the IPv4 prefix (there must be one). */
    public synchronized Inet4Address allocateV4() {
        return (Inet4Address) v4.next();
    }

    /** One address of the IPv6 prefix (there must be one). */
    public synchronized Inet6Address allocateV6() {
        return (Inet6Address) v6.next();
    }

    /** Marks an address as used (e.g. one restored from elsewhere). Addresses outside both prefixes are ignored. */
    public synchronized void reserve(InetAddress a) {
        Pool p = poolFor(a);
        // Reserved addresses are never handed out anyway; counting them as used would skew the exhaustion check.
        if (p != null && p.reservedEnd(p.offset(a)) == null) p.used.add(p.offset(a));
    }

    /** Frees an address for reuse; null and foreign addresses are ignored. */
    public synchronized void release(InetAddress a) {
        if (a == null) return;
        Pool p = poolFor(a);
        if (p != null) p.release(a);
    }

    /** Frees both addresses of a deleted node. */
    public synchronized void release(TailnetNode node) {
        release(node.ipv4());
        release(node.ipv6());
    }

    public synchronized boolean isUsed(InetAddress a) {
        Pool p = poolFor(a);
        return p != null && p.used.contains(p.offset(a));
    }

    /** True if the address is one this allocator would never hand out (network, broadcast, Quad100, ...). */
    public static boolean isReserved(IpPrefix prefix, InetAddress a) {
        if (!prefix.contains(a)) return true;
        BigInteger x = new BigInteger(1, a.getAddress());
        BigInteger first = new BigInteger(1, prefix.bytes());
        BigInteger last = first.add(BigInteger.ONE.shiftLeft(prefix.address().getAddress().length * 8 - prefix.bits())).subtract(BigInteger.ONE);
        if (x.equals(first) || x.equals(last)) return true;
        for (IpPrefix r : RESERVED) if (r.contains(a)) return true;
        return false;
    }

    private Pool poolFor(InetAddress a) {
        if (a instanceof Inet4Address && v4 != null && v4.prefix.contains(a)) return v4;
        if (a instanceof Inet6Address && v6 != null && v6.prefix.contains(a)) return v6;
        return null;
    }

    /** One prefix: addresses as offsets from its first address. */
    private static final class Pool {
        final IpPrefix prefix;
        final ControlConfig.Allocation strategy;
        final RandomGenerator random;
        final BigInteger base;
        final BigInteger size;
        final int addrBits;
        /** Reserved ranges inside this prefix as [start, end] offsets, including network and broadcast. */
        final List<BigInteger[]> reserved = new ArrayList<>();
        final BigInteger reservedCount;
        final Set<BigInteger> used = new HashSet<>();
        BigInteger prev;

        Pool(IpPrefix prefix, ControlConfig.Allocation strategy, RandomGenerator random) {
            this.prefix = prefix;
            this.strategy = strategy;
            this.random = random;
            this.addrBits = prefix.bytes().length * 8;
            this.base = new BigInteger(1, prefix.bytes());
            this.size = BigInteger.ONE.shiftLeft(addrBits - prefix.bits());
            BigInteger last = size.subtract(BigInteger.ONE);
            reserved.add(new BigInteger[] {BigInteger.ZERO, BigInteger.ZERO});
            reserved.add(new BigInteger[] {last, last});
            for (IpPrefix r : RESERVED) {
                if (r.isIPv4() != prefix.isIPv4()) continue;
                BigInteger rs = new BigInteger(1, r.bytes());
                BigInteger re = rs.add(BigInteger.ONE.shiftLeft(addrBits - r.bits())).subtract(BigInteger.ONE);
                BigInteger s = rs.max(base).subtract(base);
                BigInteger e = re.min(base.add(last)).subtract(base);
                if (s.compareTo(e) <= 0) reserved.add(new BigInteger[] {s, e});
            }
            BigInteger count = BigInteger.ZERO;
            // Ranges may overlap (e.g. a /32 prefix whose only address is network and broadcast at once): count each offset once.
            Set<BigInteger> small = new HashSet<>();
            for (BigInteger[] r : reserved) {
                BigInteger n = r[1].subtract(r[0]).add(BigInteger.ONE);
                if (n.compareTo(BigInteger.valueOf(1024)) <= 0) {
                    for (BigInteger i = r[0]; i.compareTo(r[1]) <= 0; i = i.add(BigInteger.ONE)) small.add(i);
                } else {
                    count = count.add(n);
                }
            }
            this.reservedCount = count.add(BigInteger.valueOf(small.size()));
            this.prev = BigInteger.ZERO;
        }

        BigInteger offset(InetAddress a) {
            return new BigInteger(1, a.getAddress()).subtract(base);
        }

        InetAddress address(BigInteger offset) {
            byte[] raw = base.add(offset).toByteArray();
            byte[] out = new byte[addrBits / 8];
            int n = Math.min(raw.length, out.length);
            System.arraycopy(raw, raw.length - n, out, out.length - n, n);
            try {
                return InetAddress.getByAddress(out);
            } catch (UnknownHostException e) {
                throw new AssertionError(e);
            }
        }

        InetAddress next() {
            if (BigInteger.valueOf(used.size()).add(reservedCount).compareTo(size) >= 0) {
                throw new PoolExhaustedException("no free address left in " + prefix);
            }
            BigInteger start = strategy == ControlConfig.Allocation.RANDOM
                    ? randomOffset()
                    : prev.add(BigInteger.ONE).mod(size);
            BigInteger x = start;
            // Bounded: every step either jumps past a reserved range or passes a used address, and a free one exists.
            while (true) {
                BigInteger skipTo = reservedEnd(x);
                if (skipTo != null) {
                    x = skipTo.add(BigInteger.ONE).mod(size);
                    continue;
                }
                if (!used.contains(x)) break;
                x = x.add(BigInteger.ONE).mod(size);
            }
            used.add(x);
            prev = x;
            return address(x);
        }

        void release(InetAddress a) {
            used.remove(offset(a));
        }

        private BigInteger reservedEnd(BigInteger x) {
            for (BigInteger[] r : reserved) {
                if (x.compareTo(r[0]) >= 0 && x.compareTo(r[1]) <= 0) return r[1];
            }
            return null;
        }

        private BigInteger randomOffset() {
            int bits = addrBits - prefix.bits();
            if (bits == 0) return BigInteger.ZERO;
            byte[] b = new byte[(bits + 7) / 8];
            random.nextBytes(b);
            return new BigInteger(1, b).mod(size);
        }
    }
}
