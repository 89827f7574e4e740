package dev.lattice.control.server;

import dev.lattice.control.auth.Registrations;
import dev.lattice.control.machine.HttpError;
import dev.lattice.control.machine.MachineService;
import dev.lattice.control.machine.MapSink;
import dev.lattice.control.netmap.MapSessions;
import dev.lattice.control.noise.ControlSession;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.MapRequest;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** The server's answers to register and map requests (headscale {@code noise.go}, {@code poll.go}). */
final class ControlMachineService implements MachineService {
    private final Tailnet tailnet;
    private final Registrations registrations;
    private final MapSessions sessions;

    ControlMachineService(Tailnet tailnet, Registrations registrations, MapSessions sessions) {
        this.tailnet = tailnet;
        this.registrations = registrations;
        this.sessions = sessions;
    }

    static void checkVersion(Integer v) {
        if (v == null || v < CapabilityVersion.MINIMUM_SUPPORTED) {
            throw new HttpError(400, "unsupported client: capability version " + v + " is older than the minimum "
                    + CapabilityVersion.MINIMUM_SUPPORTED + "; please upgrade Tailscale");
        }
    }

    @Override
    public CompletionStage<RegisterResponse> register(ControlSession session, RegisterRequest request) {
        checkVersion(request.version());
        try {
            return registrations.register(session.machineKey(), request);
        } catch (HttpError e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public void map(ControlSession session, MapRequest req, MapSink sink) {
        checkVersion(req.version());
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
        if (fullChange) registrations.routes().apply(node.id());
    }

    private static boolean sameButNetInfo(Hostinfo a, Hostinfo b) {
        return a == null ? b == null : b != null && a.equalsIgnoringNetInfo(b);
    }
}
