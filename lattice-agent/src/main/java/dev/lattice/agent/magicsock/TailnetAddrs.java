package dev.lattice.agent.magicsock;

import dev.lattice.wire.ip.IpPrefix;
import java.net.InetAddress;

/**
 * Tailnet address ranges (tailscale's {@code tsaddr.IsTailscaleIP}): never an endpoint. A disco ping to a peer's
 * tailnet address would travel inside the tunnel it is meant to find a path for.
 */
public final class TailnetAddrs {
    public static final IpPrefix CGNAT = IpPrefix.parse("100.64.0.0/10");
    public static final IpPrefix ULA = IpPrefix.parse("fd7a:115c:a1e0::/48");

    private TailnetAddrs() {}

    public static boolean contains(InetAddress a) {
        return a != null && (CGNAT.contains(a) || ULA.contains(a));
    }
}
