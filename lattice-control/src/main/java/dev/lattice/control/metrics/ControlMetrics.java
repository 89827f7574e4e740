package dev.lattice.control.metrics;

import dev.lattice.control.http.HttpResponses;
import dev.lattice.control.http.Routes;
import dev.lattice.metrics.Metrics;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.DoubleSupplier;

/**
 * The control server's metrics (one set per server, so tests can run several) and their {@code GET /metrics} route
 * in Prometheus text format: what the server does (registrations, map sessions and the latency of their updates,
 * policy compilations, database operations, HTTP requests), plus whatever the server binds with {@link #gauge} and
 * {@link #counter}, and the JVM's and the process's own. The README lists them all.
 */
public final class ControlMetrics {
    private static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final Metrics metrics = new Metrics().withJvm();
    private final PrometheusRegistry registry = metrics.registry();

    /** Register requests by how they ended: registered, approved, auth_url, refused, logout, refresh. */
    public final Counter registrations = Counter.builder().name("lattice_registrations_total")
            .help("Register requests and admin approvals, by result").labelNames("result").register(registry);
    public final Counter mapSessionsOpened = Counter.builder().name("lattice_map_sessions_opened_total")
            .help("Map streams opened").register(registry);
    /** Map messages sent: full maps and deltas (keep-alives not counted). */
    public final Counter mapResponses = Counter.builder().name("lattice_map_responses_total")
            .help("Map messages sent to nodes, full maps and deltas").labelNames("kind").register(registry);
    /** From a change in the tailnet to the delta that carries it leaving for one node (the fan-out latency). */
    public final Histogram mapUpdateLatency = Histogram.builder().name("lattice_map_update_latency_seconds")
            .help("Time from a tailnet change to the map delta carrying it being sent, per node")
            .classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
    public final Counter policyCompiles = Counter.builder().name("lattice_policy_compiles_total")
            .help("Policy compilations, by result (ok or error)").labelNames("result").register(registry);
    public final Histogram policyCompileSeconds = Histogram.builder().name("lattice_policy_compile_seconds")
            .help("Time one policy compilation took").classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
    /** A database transaction (write) or handle (read), from begin to end. */
    public final Histogram dbOperationSeconds = Histogram.builder().name("lattice_db_operation_seconds")
            .help("Database operations (read, or write transaction) by kind").labelNames("kind")
            .classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
    /** HTTP requests by route (a template such as /api/v1/node/{id}, or "other") and status code. */
    public final Counter httpRequests = Counter.builder().name("lattice_http_requests_total")
            .help("HTTP requests by route and status, on the main and metrics ports and inside ts2021 connections")
            .labelNames("route", "status").register(registry);
    /** Queries to the authoritative DNS server (dns.authoritative) by how they ended. */
    public final Counter dnsQueries = Counter.builder().name("lattice_dns_queries_total")
            .help("Queries to the authoritative DNS server, by result (answered, nxdomain, refused, error, malformed, rate_limited)")
            .labelNames("result").register(registry);

    {
        // Every known label value from the start, so a scrape shows the series before the first event (rate() needs it).
        for (String r : new String[] {"registered", "approved", "auth_url", "refused", "logout", "refresh"}) {
            registrations.labelValues(r);
        }
        mapResponses.labelValues("full");
        mapResponses.labelValues("delta");
        policyCompiles.labelValues("ok");
        policyCompiles.labelValues("error");
        dbOperationSeconds.labelValues("read");
        dbOperationSeconds.labelValues("write");
        for (var o : dev.lattice.control.dns.authoritative.Outcome.values()) dnsQueries.labelValues(o.label());
    }

    public Metrics metrics() {
        return metrics;
    }

    public void gauge(String name, String help, DoubleSupplier value) {
        metrics.gauge(name, help, value);
    }

    /** A counter read from {@code value} at each scrape (it must only grow). */
    public void counter(String name, String help, DoubleSupplier value) {
        metrics.counter(name, help, value);
    }

    public void request(String route, int status) {
        httpRequests.labelValues(route, Integer.toString(status)).inc();
    }

    public byte[] scrape() {
        return metrics.scrape();
    }

    /**
     * {@code GET /metrics} in Prometheus text format; anything else is a plain 404. Served by a guarded listener
     * (deadlines and connection caps), as a metrics port is often left open to the world.
     */
    public Routes routes() {
        return req -> {
            String path = new QueryStringDecoder(req.uri()).path();
            if (!path.equals("/metrics")) return HttpResponses.text(HttpResponseStatus.NOT_FOUND, "not found: try /metrics");
            if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.HEAD)) {
                return HttpResponses.text(HttpResponseStatus.METHOD_NOT_ALLOWED, "method not allowed");
            }
            return HttpResponses.of(HttpResponseStatus.OK, Metrics.CONTENT_TYPE, scrape());
        };
    }
}
