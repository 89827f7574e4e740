package dev.lattice.control.metrics;

import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.function.DoubleSupplier;

/**
 * The server's metrics (one registry per server, so tests can run several) and a tiny HTTP listener for
 * {@code GET /metrics} in Prometheus text format. Names follow headscale's where one exists.
 */
public final class ControlMetrics implements AutoCloseable {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private HttpServer http;

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

    /** Serves /metrics on {@code addr}; returns the bound address. */
    public InetSocketAddress serve(InetSocketAddress addr) throws IOException {
        http = HttpServer.create(addr, 16);
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.createContext("/metrics", ex -> {
            byte[] body = scrape();
            ex.getResponseHeaders().set("Content-Type", PrometheusTextFormatWriter.CONTENT_TYPE);
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(body);
            }
        });
        http.start();
        return http.getAddress();
    }

    @Override
    public void close() {
        if (http != null) http.stop(0);
    }
}
