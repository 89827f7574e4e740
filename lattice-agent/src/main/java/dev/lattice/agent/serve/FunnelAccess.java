package dev.lattice.agent.serve;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Set;

/**
 * Whether this node may turn Funnel on for a port (tailscale's {@code ipn.CheckFunnelAccess}): the tailnet offers
 * HTTPS ({@code https}), the node has the {@code funnel} attribute, and the port is in the
 * {@code https://tailscale.com/cap/funnel-ports?ports=...} attribute control sends with it. The messages are
 * tailscale's.
 */
public final class FunnelAccess {
    public static final String CAP_HTTPS = "https";
    public static final String ATTR_FUNNEL = "funnel";
    public static final String CAP_FUNNEL_PORTS = "https://tailscale.com/cap/funnel-ports";

    private FunnelAccess() {}

    /** Null when allowed, else why not. */
    public static String check(int port, Set<String> caps) {
        if (!caps.contains(CAP_HTTPS)) return "Funnel not available; HTTPS must be enabled. See https://tailscale.com/s/https.";
        if (!caps.contains(ATTR_FUNNEL)) {
            return "Funnel not available; \"funnel\" node attribute not set. See https://tailscale.com/s/no-funnel.";
        }
        return checkPort(port, caps);
    }

    /** tailscale's {@code CheckFunnelPort}: the first funnel-ports attribute decides. */
    static String checkPort(int port, Set<String> caps) {
        String ports = null;
        for (String attr : caps) {
            if (!attr.startsWith(CAP_FUNNEL_PORTS)) continue;
            try {
                URI u = new URI(attr);
                String q = u.getRawQuery();
                String base = attr.substring(0, attr.indexOf('?') < 0 ? attr.length() : attr.indexOf('?'));
                if (q == null || !base.equals(CAP_FUNNEL_PORTS)) return deny(port, null);
                for (String kv : q.split("&")) if (kv.startsWith("ports=")) ports = java.net.URLDecoder.decode(kv.substring(6), java.nio.charset.StandardCharsets.UTF_8);
                if (ports == null || ports.isEmpty()) return deny(port, null);
            } catch (URISyntaxException | IllegalArgumentException e) {
                return deny(port, null);
            }
            break;
        }
        if (ports == null) return deny(port, null);
        for (String ps : ports.split(",")) {
            if (ps.isEmpty()) continue;
            int dash = ps.indexOf('-');
            if (dash < 0) {
                if (ps.equals(Integer.toString(port))) return null;
                continue;
            }
            try {
                int first = Integer.parseInt(ps.substring(0, dash)), last = Integer.parseInt(ps.substring(dash + 1));
                if (first >= 0 && last <= 65535 && port >= first && port <= last) return null;
            } catch (NumberFormatException e) {
                // skipped, as tailscale does
            }
        }
        return deny(port, ports);
    }

    private static String deny(int port, String allowed) {
        if (allowed == null || allowed.isEmpty()) return "port " + port + " is not allowed for funnel";
        return "port " + port + " is not allowed for funnel; allowed ports are: " + allowed;
    }
}
