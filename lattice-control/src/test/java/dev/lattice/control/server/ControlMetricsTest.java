package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.User;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.client.DerpClient;
import dev.lattice.derp.client.DerpClientListener;
import dev.lattice.derp.client.DerpClientOptions;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.stun.Stun;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics port after traffic: each family the README lists is there, and the counters of what the test did
 * moved by what it did (registrations, map sessions and deltas, policy compiles, database operations, HTTP requests
 * by route and status, DERP packets and drops, STUN requests, the connection guard), next to JVM and process metrics.
 */
@Timeout(60)
class ControlMetricsTest {
    @TempDir
    Path dir;
    ControlServer server;
    EventLoopGroup group;
    HttpClient http;

    @BeforeEach
    void start() throws Exception {
        server = ControlServer.start(TestServer.config(dir, "policy:\n  mode: database\n"));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @AfterEach
    void stop() {
        if (http != null) http.close();
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
    }

    String scrape() throws Exception {
        URI u = URI.create("http://" + IpPrefix.hostPort(server.metricsAddress()) + "/metrics");
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(u).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/plain; version=0.0.4");
        return r.body();
    }

    static double value(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) return Double.parseDouble(line.substring(series.length() + 1).trim());
        }
        return 0;
    }

    int get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(server.config().serverUrl().resolve(path)).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
    }

    @Test
    void countersMoveWithTraffic() throws Exception {
        String before = scrape();
        for (String family : List.of("lattice_registrations_total", "lattice_map_sessions_opened_total", "lattice_map_responses_total",
                "lattice_map_update_latency_seconds", "lattice_policy_compiles_total", "lattice_policy_compile_seconds",
                "lattice_db_operation_seconds", "lattice_derp_connections", "lattice_derp_packets_total",
                "lattice_derp_packets_dropped_total", "lattice_stun_requests_total", "lattice_http_connections_open",
                "lattice_http_connections_refused_total", "lattice_nodes", "jvm_memory_used_bytes", "process_cpu_seconds_total",
                "process_open_fds", "jvm_gc_collection_seconds")) {
            assertThat(before).as(family).contains("# TYPE " + family);
        }

        User alice = server.store().users().create("alice", "", "");
        server.tailnet().announceFull();
        String key = server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(600)).fullKey();
        try (TestMachine a = new TestMachine(group, server.config().serverUrl(), "a");
                TestMachine b = new TestMachine(group, server.config().serverUrl(), "b")) {
            a.register(key);
            a.openStream();
            a.await(Duration.ofSeconds(5), x -> x.node() != null);
            b.register(key);
            assertThat(b.register("nonsense").error()).isNotNull();
            b.openStream();
            // a hears of b in a delta
            a.awaitView(Duration.ofSeconds(5), v -> v.hasPeer("b"));
            server.adminApi().setPolicy("{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}]}");
        }
        assertThat(get("/key?v=113")).isEqualTo(200);
        assertThat(get("/health")).isEqualTo(200);
        assertThat(get("/api/v1/node/7")).isEqualTo(401);
        assertThat(get("/no/such/thing")).isEqualTo(404);

        // DERP: two clients, one packet between them, one to nobody
        URI derpUrl = server.config().serverUrl().resolve("/derp");
        var opts = DerpClientOptions.defaults().withReconnect(false);
        java.util.concurrent.LinkedBlockingQueue<byte[]> got = new java.util.concurrent.LinkedBlockingQueue<>();
        // The embedded relay only admits registered nodes: use the test machines' keys? They closed; register two more.
        try (TestMachine c = new TestMachine(group, server.config().serverUrl(), "c");
                TestMachine d = new TestMachine(group, server.config().serverUrl(), "d")) {
            c.register(key);
            d.register(key);
            DerpClient dc = new DerpClient(derpUrl, c.nodeKey, opts, group, new DerpClientListener() {});
            DerpClient dd = new DerpClient(derpUrl, d.nodeKey, opts, group, new DerpClientListener() {
                @Override
                public void onPacket(dev.lattice.crypto.key.NodePublicKey src, byte[] data) {
                    got.add(data);
                }
            });
            try (dc; dd) {
                dc.connect().get(5, TimeUnit.SECONDS);
                dd.connect().get(5, TimeUnit.SECONDS);
                dc.send(d.nodeKey.publicKey(), new byte[64]);
                assertThat(got.poll(5, TimeUnit.SECONDS)).hasSize(64);
                dc.send(NodePrivateKey.generate().publicKey(), new byte[8]);
            }
        }
        byte[] stun = Stun.request(Stun.TxId.random());
        try (DatagramSocket s = new DatagramSocket()) {
            s.send(new DatagramPacket(stun, stun.length, InetAddress.getLoopbackAddress(),
                    server.config().derp().server().stunListenAddr().port()));
            s.setSoTimeout(5000);
            s.receive(new DatagramPacket(new byte[512], 512));
        }

        String after = scrape();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (value(after, "lattice_derp_packets_dropped_total{reason=\"unknown_dest\"}") < 1 && System.nanoTime() < end) {
            Thread.sleep(50);
            after = scrape();
        }
        assertThat(value(after, "lattice_registrations_total{result=\"registered\"}")).isEqualTo(4);
        assertThat(value(after, "lattice_registrations_total{result=\"refused\"}")).isEqualTo(1);
        assertThat(value(after, "lattice_map_sessions_opened_total")).isEqualTo(2);
        assertThat(value(after, "lattice_map_responses_total{kind=\"full\"}")).isGreaterThanOrEqualTo(2);
        assertThat(value(after, "lattice_map_responses_total{kind=\"delta\"}")).isGreaterThanOrEqualTo(1);
        assertThat(value(after, "lattice_map_update_latency_seconds_count")).isGreaterThanOrEqualTo(1);
        assertThat(value(after, "lattice_policy_compiles_total{result=\"ok\"}")).isGreaterThanOrEqualTo(1);
        assertThat(value(after, "lattice_policy_compile_seconds_count")).isGreaterThanOrEqualTo(1);
        assertThat(value(after, "lattice_db_operation_seconds_count{kind=\"write\"}")).isGreaterThan(value(before, "lattice_db_operation_seconds_count{kind=\"write\"}"));
        assertThat(value(after, "lattice_db_operation_seconds_count{kind=\"read\"}")).isGreaterThan(0);
        assertThat(value(after, "lattice_http_requests_total{route=\"/key\",status=\"200\"}")).as("4 test machines and one request of ours").isEqualTo(5);
        assertThat(value(after, "lattice_http_requests_total{route=\"/health\",status=\"200\"}")).isEqualTo(1);
        assertThat(value(after, "lattice_http_requests_total{route=\"/api/v1/node/{id}\",status=\"401\"}")).isEqualTo(1);
        assertThat(value(after, "lattice_http_requests_total{route=\"other\",status=\"404\"}")).isEqualTo(1);
        assertThat(value(after, "lattice_http_requests_total{route=\"/ts2021\",status=\"101\"}")).isEqualTo(4);
        assertThat(value(after, "lattice_http_requests_total{route=\"/machine/register\",status=\"200\"}")).isEqualTo(5);
        assertThat(value(after, "lattice_http_requests_total{route=\"/derp\",status=\"101\"}")).isEqualTo(2);
        assertThat(value(after, "lattice_http_requests_total{route=\"/metrics\",status=\"200\"}")).isGreaterThanOrEqualTo(1);
        assertThat(value(after, "lattice_derp_packets_total{direction=\"received\"}")).isEqualTo(2);
        assertThat(value(after, "lattice_derp_packets_total{direction=\"sent\"}")).isEqualTo(1);
        assertThat(value(after, "lattice_derp_packets_dropped_total{reason=\"unknown_dest\"}")).isEqualTo(1);
        assertThat(value(after, "lattice_derp_accepts_total")).isEqualTo(2);
        assertThat(value(after, "lattice_stun_requests_total{result=\"answered\"}")).isEqualTo(1);
        assertThat(value(after, "lattice_nodes")).isEqualTo(4);
        assertThat(value(after, "process_cpu_seconds_total")).isPositive();

        HttpResponse<String> other = http.send(HttpRequest.newBuilder(URI.create("http://" + IpPrefix.hostPort(server.metricsAddress())
                + "/debug/varz")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(other.statusCode()).isEqualTo(404);
        assertThat(other.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
        assertThat(other.body()).isEqualTo("not found: try /metrics\n");
    }
}
