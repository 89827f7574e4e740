package dev.lattice.control.mapping;

import dev.lattice.control.auth.Registrations;
import dev.lattice.control.auth.RouteApprovals;
import dev.lattice.control.machine.HttpError;
import dev.lattice.control.machine.MapSink;
import dev.lattice.control.netmap.MapSessions;
import dev.lattice.control.noise.ControlSession;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.MapRequest;
import java.util.List;
import java.util.Objects;

/**
 * Answers map requests, as Headscale's {@code poll.go}: the node must be this machine's; what it reports is stored
 * and announced; then it gets a stream of updates, or (Stream false) a one-shot map or nothing.
 */
public final class MapRequests {
    private final Tailnet tailnet;
    private final RouteApprovals routes;
    private final MapSessions sessions;

    public MapRequests(Tailnet tailnet, RouteApprovals routes, MapSessions sessions) {
        this.tailnet = tailnet;
        this.routes = routes;
        this.sessions = sessions;
    }

    /**
     * Handles {@code req} on {@code sink}: a streaming request keeps it open, a lite update closes it.
     *
     * @throws HttpError (before anything is written) when the request names no node, or a node of another machine
     */
    public void map(ControlSession session, MapRequest req, MapSink sink) {
        if (req.nodeKey() == null) throw new HttpError(400, "map request without a node key");
        TailnetNode node = tailnet.byNodeKey(req.nodeKey()).orElseThrow(() -> new HttpError(404, "node not found"));
        if (!node.machineKey().equals(session.machineKey())) {
            throw new HttpError(404, "node key in request does not match the one associated with this machine key");
        }
        apply(node, req);
        boolean stream = Boolean.TRUE.equals(req.stream());
        if (!stream) {
            if (!Boolean.TRUE.equals(req.omitPeers())) sessions.sendOnce(node.id(), req.version(), sink);
            sink.finish();
            return;
        }
        sessions.open(node.id(), req.version(), sink);
    }

    /** Stores what the client reported (disco key, endpoints, hostinfo) and announces it in the cheapest form. */
    private void apply(TailnetNode node, MapRequest req) {
        List<AddrPort> endpoints = req.endpoints() == null ? node.endpoints() : req.endpoints();
        Hostinfo hostinfo = req.hostinfo() == null ? node.hostinfo() : req.hostinfo();
        String hostname = Registrations.reportedHostname(req.hostinfo()).orElse(node.hostname());
        var disco = req.discoKey() != null && !req.discoKey().isZero() ? req.discoKey() : node.discoKey();
        // NetInfo changes with every netcheck and travels as a patch (DERPRegion); the rest of Hostinfo needs the node.
        boolean fullChange = !sameButNetInfo(hostinfo, node.hostinfo()) || !Objects.equals(hostname, node.hostname());
        Change.Kind kind = fullChange ? Change.Kind.UPDATED : Change.Kind.PATCH;
        // A new hostname renames the node (its given name) unless an admin named it: peers get the whole node.
        tailnet.update(node.id(), kind, n -> tailnet.withReportedHostinfo(
                n.toBuilder().discoKey(disco).endpoints(endpoints).build(), hostname, hostinfo));
        // Advertised routes may have changed (tailscale set --advertise-routes): the policy may approve them.
        if (fullChange) routes.apply(node.id());
    }

    private static boolean sameButNetInfo(Hostinfo a, Hostinfo b) {
        return a == null ? b == null : b != null && a.equalsIgnoringNetInfo(b);
    }
}
