package dev.lattice.control.netmap;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code node.routes.ha}: liveness probes of HA subnet routers, as Headscale's {@code HAHealthProber}. Every probe
 * interval, each online node that serves a subnet another online node serves too gets an HTTP/2 PING on each of its
 * map-stream connections. One that is not acknowledged within the probe timeout ends that connection: the node goes
 * offline, and {@link PrimaryRoutes} moves its subnets to another router at once. A cut cable is thus noticed within
 * interval + timeout (15 s by default) instead of when the kernel gives up retransmitting, a quarter of an hour later.
 *
 * <p>Headscale pings with a {@code PingRequest} the client answers over HTTP and marks the router unhealthy; a PING
 * on the connection needs nothing from the client (every HTTP/2 stack answers it) and ends a connection that is
 * dead anyway, so the node's online status is right too. Like Headscale's, a router that comes back does not take
 * its primary role back.
 */
public final class RouteProbes implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RouteProbes.class);

    private final Tailnet tailnet;
    private final TailcfgNodes nodes;
    private final MapSessions sessions;
    private final Duration interval;
    private final Duration timeout;
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("route-probes").daemon().factory());

    public RouteProbes(Tailnet tailnet, TailcfgNodes nodes, MapSessions sessions, ControlConfig.HaProbes cfg) {
        this.tailnet = tailnet;
        this.nodes = nodes;
        this.sessions = sessions;
        this.interval = cfg.interval();
        this.timeout = cfg.timeout();
    }

    public void start() {
        timer.scheduleWithFixedDelay(() -> {
            try {
                probeOnce();
            } catch (RuntimeException e) {
                log.warn("HA route probe failed: {}", e.toString());
            }
        }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        log.info("HA subnet router probes every {} ms (timeout {} ms)", interval.toMillis(), timeout.toMillis());
    }

    /** Pings every HA router's connections once; returns the node ids probed. */
    Set<Long> probeOnce() {
        Set<Long> ha = haRouters();
        for (long id : ha) {
            for (MapSession s : sessions.sessionsOf(id)) {
                s.sink().ping(timeout).whenComplete((rtt, err) -> {
                    if (err instanceof TimeoutException) {
                        log.warn("HA probe: node {} did not answer within {} ms; its connection is closed so its routes fail over",
                                id, timeout.toMillis());
                    }
                });
            }
        }
        return ha;
    }

    /** Online nodes serving a subnet (not an exit route) that another online node serves too (Headscale's HANodes). */
    Set<Long> haRouters() {
        Map<IpPrefix, List<Long>> byPrefix = new HashMap<>();
        for (TailnetNode n : tailnet.routers()) {
            if (!tailnet.isOnline(n.id())) continue;
            for (IpPrefix p : nodes.activeRoutes(n)) {
                if (p.bits() != 0) byPrefix.computeIfAbsent(p, k -> new java.util.ArrayList<>()).add(n.id());
            }
        }
        Set<Long> out = new TreeSet<>();
        for (List<Long> ids : byPrefix.values()) if (ids.size() > 1) out.addAll(ids);
        return out;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
