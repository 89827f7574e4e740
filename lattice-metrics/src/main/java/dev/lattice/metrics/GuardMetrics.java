package dev.lattice.metrics;

import dev.lattice.guard.ConnectionGuard;
import io.prometheus.metrics.core.metrics.CounterWithCallback;

/** A {@link ConnectionGuard}'s accounting as metrics named {@code PREFIX_connections_open} and so on. */
public final class GuardMetrics {
    private GuardMetrics() {}

    public static void register(Metrics m, ConnectionGuard g, String prefix) {
        m.gauge(prefix + "_connections_open", "TCP connections open on the guarded listeners", g::openConnections);
        CounterWithCallback.builder().name(prefix + "_connections_refused")
                .help("Connections refused at admission, by the limit they hit (total or per source address)")
                .labelNames("limit")
                .callback(cb -> {
                    cb.call(g.refusedAtTotalLimit(), "total");
                    cb.call(g.refusedAtSourceLimit(), "per_source");
                }).register(m.registry());
        m.counter(prefix + "_requests_shed", "Requests answered 503 because a request-body budget was spent", g::shedRequests);
        m.gauge(prefix + "_request_body_bytes_in_flight", "Request-body bytes buffered now", g::bodyBytesInFlight);
    }
}
