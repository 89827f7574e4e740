package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.localapi.LocalApiServer;
import dev.lattice.agent.magicsock.MagicSock;
import dev.lattice.metrics.Metrics;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /localapi/v0/usermetrics} over the daemon's socket: tailscaled's client metric names in Prometheus
 * text, read from latticed's counters at each scrape, so they move as the counters do.
 */
class UserMetricsTest {
    @TempDir
    Path dir;

    static String get(Path sock, String path) throws Exception {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
            c.write(ByteBuffer.wrap(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)));
            ByteBuffer b = ByteBuffer.allocate(1 << 20);
            while (c.read(b) >= 0 && b.hasRemaining()) {
                // until the server closes
            }
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void servesTailscaledsNamesAndTheyMoveWithTheCounters() throws Exception {
        MagicSock.Stats s = new MagicSock.Stats();
        AtomicLong acl = new AtomicLong(), errors = new AtomicLong(), home = new AtomicLong(), warnings = new AtomicLong();
        Metrics m = UserMetrics.create(new UserMetrics.Sources(s.derpDataReceivedPackets::sum, s.derpDataReceivedBytes::sum,
                s.derpDataSentPackets::sum, s.derpDataSentBytes::sum, acl::get, errors::get, home::get, warnings::get,
                () -> 1000, () -> 2000));
        try (LocalApiServer api = LocalApiServer.start(dir.resolve("latticed.sock"), new dev.lattice.agent.localapi.FakeBackend(),
                LocalApiServer.Options.defaults().withUserMetrics(m))) {
            String before = get(api.path(), "/localapi/v0/usermetrics");
            assertThat(before).startsWith("HTTP/1.1 200 OK").contains("text/plain; version=0.0.4")
                    .contains("tailscaled_inbound_packets_total{path=\"derp\"} 0.0")
                    .contains("tailscaled_home_derp_region_id 0.0")
                    .contains("latticed_wireguard_bytes_total{direction=\"sent\"} 2000.0")
                    .contains("process_cpu_seconds_total");

            s.derpDataReceivedPackets.add(3);
            s.derpDataReceivedBytes.add(300);
            s.derpDataSentPackets.add(2);
            s.derpDataSentBytes.add(200);
            acl.set(5);
            errors.set(1);
            home.set(999);
            warnings.set(2);
            String after = get(api.path(), "/localapi/v0/usermetrics");
            assertThat(after).contains("tailscaled_inbound_packets_total{path=\"derp\"} 3.0")
                    .contains("tailscaled_inbound_bytes_total{path=\"derp\"} 300.0")
                    .contains("tailscaled_outbound_packets_total{path=\"derp\"} 2.0")
                    .contains("tailscaled_outbound_bytes_total{path=\"derp\"} 200.0")
                    .contains("tailscaled_inbound_dropped_packets_total{reason=\"acl\"} 5.0")
                    .contains("tailscaled_outbound_dropped_packets_total{reason=\"error\"} 1.0")
                    .contains("tailscaled_home_derp_region_id 999.0")
                    .contains("tailscaled_health_messages{type=\"warning\"} 2.0");
        }
    }

    @Test
    void withoutMetricsThePathIsNotFound() throws Exception {
        try (LocalApiServer api = LocalApiServer.start(dir.resolve("latticed.sock"), new dev.lattice.agent.localapi.FakeBackend())) {
            assertThat(get(api.path(), "/localapi/v0/usermetrics")).startsWith("HTTP/1.1 404");
        }
    }
}
