package dev.lattice.agent.ipn;

import dev.lattice.agent.state.Prefs;
import dev.lattice.wire.ip.IpPrefix;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The routes a node offers, from the flags to the prefs, with tailscale's checks and messages
 * ({@code netutil.CalcAdvertiseRoutes}, the CLI's {@code calcAdvertiseRoutesForSet} and the backend's
 * {@code checkAdvertiseRoutes}). Beyond tailscale's client, routes inside the tailnet's own ranges are refused: the
 * router would drop their traffic (its CGNAT anti-spoofing rule) and peers would route them over their own per-peer
 * routes, so such an offer could never work.
 */
public final class AdvertiseRoutes {
    static final IpPrefix CGNAT = IpPrefix.parse("100.64.0.0/10");
    static final IpPrefix ULA = IpPrefix.parse("fd7a:115c:a1e0::/48");
    /** tsaddr's 4via6 range: site-translated IPv4 subnets, which latticed does not serve. */
    static final IpPrefix VIA6 = IpPrefix.parse("fd7a:115c:a1e0:b1a::/64");

    private AdvertiseRoutes() {}

    /**
     * {@code --advertise-routes} (comma-separated; empty for none) plus, with {@code exitNode}, the two exit routes;
     * sorted by prefix length then address, as tailscale sorts them.
     *
     * @throws IllegalArgumentException with tailscale's message
     */
    public static List<String> calc(String advertiseRoutes, boolean exitNode) {
        Set<IpPrefix> routes = new LinkedHashSet<>();
        if (advertiseRoutes != null && !advertiseRoutes.isEmpty()) {
            boolean default4 = false, default6 = false;
            for (String s : advertiseRoutes.split(",", -1)) {
                IpPrefix p = parseCanonical(s, "");
                checkNotTailnet(p);
                if (p.equals(IpPrefix.parse(Prefs.ALL_IPV4))) default4 = true;
                if (p.equals(IpPrefix.parse(Prefs.ALL_IPV6))) default6 = true;
                routes.add(p);
            }
            if (default4 && !default6) {
                throw new IllegalArgumentException("0.0.0.0/0 advertised without its IPv6 counterpart, please also advertise ::/0");
            }
            if (default6 && !default4) {
                throw new IllegalArgumentException("::/0 advertised without its IPv4 counterpart, please also advertise 0.0.0.0/0");
            }
        }
        if (exitNode) {
            routes.add(IpPrefix.parse(Prefs.ALL_IPV4));
            routes.add(IpPrefix.parse(Prefs.ALL_IPV6));
        }
        List<IpPrefix> sorted = new ArrayList<>(routes);
        sorted.sort(Comparator.comparingInt(IpPrefix::bits).thenComparing(IpPrefix::address, AdvertiseRoutes::compareAddr));
        return sorted.stream().map(IpPrefix::toString).toList();
    }

    /**
     * {@code lattice set}'s routes: which of {@code --advertise-routes} and {@code --advertise-exit-node} were given
     * decides what of the current routes stays (tailscale's calcAdvertiseRoutesForSet).
     */
    public static List<String> forSet(boolean exitNodeFlagGiven, boolean routesFlagGiven, Prefs current, String routes,
            boolean exitNode) {
        if (exitNodeFlagGiven && routesFlagGiven) return calc(routes, exitNode);
        if (routesFlagGiven) return calc(routes, current.advertisesExitNode());
        if (exitNodeFlagGiven) {
            if (current.advertisesExitNode() == exitNode) return current.advertiseRoutes();
            List<String> out = new ArrayList<>();
            for (String r : current.advertiseRoutes()) if (IpPrefix.parse(r).bits() != 0) out.add(r);
            if (exitNode) {
                out.add(Prefs.ALL_IPV4);
                out.add(Prefs.ALL_IPV6);
            }
            return out;
        }
        return current.advertiseRoutes();
    }

    /**
     * The backend's check of routes it is asked to save (the local API may be called by anything): each must be a
     * canonical prefix outside the tailnet ranges; returns them canonical.
     */
    public static List<String> check(List<String> routes) {
        List<String> out = new ArrayList<>();
        for (String r : routes) {
            IpPrefix p = parseCanonical(r, "route ");
            checkNotTailnet(p);
            out.add(p.toString());
        }
        return out;
    }

    /**
     * A prefix whose address has no bits beyond its length ({@code 10.1.0.1/24} is refused with
     * "10.1.0.1/24 has non-address bits set; expected 10.1.0.0/24").
     */
    static IpPrefix parseCanonical(String s, String what) {
        int slash = s.indexOf('/');
        InetAddress raw;
        IpPrefix p;
        try {
            if (slash < 0 || s.indexOf('%') >= 0) throw new IllegalArgumentException();
            raw = IpPrefix.parseAddress(s.substring(0, slash));
            // netip.ParsePrefix has no IPv4-mapped or leading-zero forms; IpPrefix would fold a mapped address.
            if (s.substring(0, slash).indexOf(':') >= 0 && raw.getAddress().length == 4) throw new IllegalArgumentException();
            p = IpPrefix.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("\"" + s + "\" is not a valid IP address or CIDR prefix");
        }
        if (!raw.equals(p.address())) {
            throw new IllegalArgumentException(what + IpPrefix.format(raw) + "/" + p.bits() + " has non-address bits set; expected " + p);
        }
        return p;
    }

    private static void checkNotTailnet(IpPrefix p) {
        if (p.bits() == 0) return;
        if (p.bits() >= VIA6.bits() && VIA6.contains(p.address())) {
            throw new IllegalArgumentException(p + " is a 4via6 route; latticed does not support 4via6 subnet routers");
        }
        for (IpPrefix t : List.of(CGNAT, ULA)) {
            if (overlaps(p, t)) {
                throw new IllegalArgumentException(p + " overlaps the tailnet's address range " + t
                        + "; the tailnet's own addresses cannot be advertised as a subnet route");
            }
        }
    }

    static boolean overlaps(IpPrefix a, IpPrefix b) {
        if (a.isIPv4() != b.isIPv4()) return false;
        return a.bits() <= b.bits() ? a.contains(b.address()) : b.contains(a.address());
    }

    static int compareAddr(InetAddress a, InetAddress b) {
        byte[] x = a.getAddress(), y = b.getAddress();
        if (x.length != y.length) return Integer.compare(x.length, y.length);
        return Arrays.compareUnsigned(x, y);
    }
}
