package dev.lattice.control.netmap;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import java.util.ArrayList;
import java.util.List;

/**
 * The routes a peer carries in one viewer's netmap (AllowedIPs beyond its addresses; PrimaryRoutes without the exit
 * routes), as headscale's {@code State.RoutesForPeer}: the routes it serves (subnets it is the elected primary for, and
 * its exit routes) that the policy lets the viewer use, steered by {@code via} grants, plus the subnets the viewer
 * serves itself (a standby router learns who is primary).
 */
public final class PeerRoutes {
    private PeerRoutes() {}

    /**
     * @param served the routes {@code peer} serves: subnets it is primary for and its exit routes
     * @param viewerRoutes the viewer's own approved and advertised routes
     */
    public static List<IpPrefix> of(TailnetNode viewer, TailnetNode peer, List<IpPrefix> served, List<IpPrefix> viewerRoutes,
            PacketPolicy pol) {
        ViaRoutes via = pol.hasVia() ? pol.viaRoutes(viewer, peer) : ViaRoutes.NONE;
        if (via.isEmpty()) {
            if (served.isEmpty()) return served;
            List<IpPrefix> usable = pol.reduceRoutes(viewer, served);
            if (usable.size() == served.size() || viewerRoutes.isEmpty()) return usable;
            List<IpPrefix> out = new ArrayList<>();
            for (IpPrefix r : served) if (usable.contains(r) || (r.bits() != 0 && viewerRoutes.contains(r))) out.add(r);
            return out;
        }
        List<IpPrefix> kept = new ArrayList<>(served.size());
        for (IpPrefix r : served) if (!via.exclude().contains(r)) kept.add(r);
        List<IpPrefix> out = new ArrayList<>(kept.isEmpty() ? kept : pol.reduceRoutes(viewer, kept));
        // The via grant is the authorization; a route a regular grant covers too goes to the elected primary only.
        for (IpPrefix r : via.include()) {
            if (out.contains(r)) continue;
            boolean primary = r.bits() != 0 && served.contains(r);
            if (primary || !via.usePrimary().contains(r)) out.add(r);
        }
        for (IpPrefix r : served) {
            if (r.bits() != 0 && viewerRoutes.contains(r) && !out.contains(r)) out.add(r);
        }
        return out;
    }
}
