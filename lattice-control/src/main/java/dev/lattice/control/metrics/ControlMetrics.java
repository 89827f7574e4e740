package dev.lattice.control.metrics;

import dev.lattice.control.http.HttpResponses;
import dev.lattice.control.http.Routes;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.function.DoubleSupplier;

/**
 * The server's metrics (one registry per server, so tests can run several) and their {@code GET /metrics} route in
 * Prometheus text format. Names follow headscale's where one exists.
 */
public final class ControlMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();

    public void gauge(String name, String help, DoubleSupplier value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsDouble())).register(registry);
    }

    /** A counter read from {@code value} at each scrape (it must only grow). */
    public void counter(String name, String help, DoubleSupplier value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsDouble())).register(registry);
    }

    public byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
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
            return HttpResponses.of(HttpResponseStatus.OK, PrometheusTextFormatWriter.CONTENT_TYPE, scrape());
        };
    }
}
