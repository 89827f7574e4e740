package dev.lattice.agent.cli;

import dev.lattice.agent.ipn.AdvertiseRoutes;
import dev.lattice.agent.ipn.ExitNodes;
import dev.lattice.agent.ipn.MaskedPrefs;
import dev.lattice.agent.ipn.Status;
import dev.lattice.agent.localapi.LocalApiClient;
import dev.lattice.agent.localapi.LocalApiException;
import dev.lattice.agent.state.Prefs;
import java.io.PrintWriter;
import java.util.List;

/**
 * The routing flags {@code up} and {@code set} share (tailscale's names), as plain values: {@link LatticeCli}'s
 * picocli options and {@link QuickArgs} both end up here, so their checks and warnings are written once. A null
 * field is a flag not given.
 */
record RouteFlags(String advertiseRoutes, Boolean advertiseExitNode, String exitNode, Boolean exitNodeAllowLanAccess,
        Boolean shieldsUp, Boolean snatSubnetRoutes) {
    static final RouteFlags NONE = new RouteFlags(null, null, null, null, null, null);

    /** Whether the new routes depend on the current ones (only one of the two route flags given). */
    boolean needsCurrentPrefs() {
        return advertiseRoutes != null || advertiseExitNode != null;
    }

    /** Whether {@link #change} reads the status: only to find an exit node given by address or name. */
    boolean needsStatus() {
        return exitNode != null && !exitNode.isEmpty();
    }

    /**
     * The change these flags ask for, checked as tailscale's CLI checks it (routes, exit node by IP or name);
     * {@code st} may be null when {@link #needsStatus} is false.
     */
    MaskedPrefs change(Status st, Prefs cur) throws CliException {
        MaskedPrefs mp = MaskedPrefs.NONE;
        try {
            if (needsCurrentPrefs()) {
                mp = mp.withAdvertiseRoutes(AdvertiseRoutes.forSet(advertiseExitNode != null, advertiseRoutes != null,
                        cur, advertiseRoutes, Boolean.TRUE.equals(advertiseExitNode)));
            }
            if (exitNode != null) mp = mp.withExitNodeIp(exitNode.isEmpty() ? "" : ExitNodes.ipOfArg(exitNode, st));
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
        if (exitNodeAllowLanAccess != null) mp = mp.withExitNodeAllowLanAccess(exitNodeAllowLanAccess);
        if (shieldsUp != null) mp = mp.withShieldsUp(shieldsUp);
        if (snatSubnetRoutes != null) mp = mp.withNoSnat(!snatSubnetRoutes);
        return mp;
    }

    /** tailscale's warnf: "Warning: ..." on stdout. */
    static void warn(PrintWriter out, String message) {
        out.println("Warning: " + message);
        out.flush();
    }

    /** tailscale warns, and goes on: an exit node without source NAT only works with routes back to the tailnet. */
    static void warnNoSnatExitNode(PrintWriter out, Prefs after) {
        if (after.noSnat() && after.advertisesExitNode()) {
            warn(out, "--snat-subnet-routes=false is set with --advertise-exit-node; internet traffic through this exit node may not work as expected");
        }
    }

    /** tailscale's warnOnAdvertiseRoutes: the daemon's IP forwarding check of the routes about to be offered. */
    static void warnOnAdvertiseRoutes(PrintWriter out, LocalApiClient c, List<String> routes) throws LocalApiException {
        if (routes == null || routes.isEmpty()) return;
        String w = c.checkIpForwarding(routes);
        if (w != null) warn(out, w);
    }
}
