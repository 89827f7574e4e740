package dev.lattice.agent.engine;

import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.agent.router.Router;
import dev.lattice.agent.router.RouterConfig;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.device.Device;
import dev.lattice.wireguard.device.Peer;
import java.io.IOException;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies {@link EngineConfig}s to the WireGuard device and the host router by difference: peers that are gone
 * are removed, new ones added with a virtual endpoint (the magic socket picks their path), changed AllowedIPs
 * replaced. Sessions of unchanged peers are never touched, so a netmap delta does not interrupt traffic.
 */
public final class Engine {
    private static final Logger log = LoggerFactory.getLogger(Engine.class);

    private final Device device;
    private final Router router;
    private final Map<NodePublicKey, List<IpPrefix>> applied = new HashMap<>();
    private RouterConfig appliedRouter = RouterConfig.EMPTY;

    public Engine(Device device, Router router) {
        this.device = device;
        this.router = router;
    }

    /** Reconfigures WireGuard peers and host routes for {@code nm}. */
    public synchronized EngineConfig apply(NetworkMap nm, boolean acceptRoutes) {
        return apply(nm, EngineConfig.Options.of(acceptRoutes));
    }

    /** Reconfigures WireGuard peers and host routes for {@code nm} and what the prefs ask of the data plane. */
    public synchronized EngineConfig apply(NetworkMap nm, EngineConfig.Options options) {
        EngineConfig c = EngineConfig.from(nm, options, Instant.now());
        applyPeers(c.peers());
        applyRouter(c.router());
        return c;
    }

    /** Removes every peer and route (down, logout). */
    public synchronized void clear() {
        applyPeers(List.of());
        applyRouter(RouterConfig.EMPTY);
    }

    private void applyPeers(List<EngineConfig.Peer> peers) {
        Set<NodePublicKey> want = new HashSet<>();
        for (EngineConfig.Peer p : peers) want.add(p.key());
        for (NodePublicKey k : Set.copyOf(applied.keySet())) {
            if (!want.contains(k)) {
                device.removePeer(k);
                applied.remove(k);
            }
        }
        for (EngineConfig.Peer p : peers) {
            List<IpPrefix> old = applied.get(p.key());
            if (p.allowedIps().equals(old)) continue;
            Peer wp = device.addPeer(p.key());
            if (wp == null) continue; // our own key
            if (old == null) device.setEndpoint(wp, Endpoint.virtual());
            device.allowedIps().removeValue(wp);
            for (IpPrefix a : p.allowedIps()) device.allowedIps().insert(a, wp);
            applied.put(p.key(), p.allowedIps());
        }
    }

    private void applyRouter(RouterConfig rc) {
        if (rc.equals(appliedRouter)) return;
        try {
            router.set(rc);
            appliedRouter = rc;
        } catch (IOException e) {
            log.warn("setting routes failed (will retry with the next netmap): {}", e.getMessage());
        }
    }
}
