package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.store.User;
import dev.lattice.wire.tailcfg.MapResponse;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code derp.urls} is loaded again every {@code derp.update_frequency} while {@code derp.auto_update_enabled}, as in
 * Headscale: connected clients get the new map in a delta; a URL that fails keeps its last regions.
 */
@Timeout(60)
class DerpMapRefreshTest {
    @TempDir
    Path dir;
    HttpServer derpMapServer;
    final AtomicReference<String> served = new AtomicReference<>();
    final AtomicInteger status = new AtomicInteger(200);
    final AtomicInteger fetches = new AtomicInteger();
    ControlServer server;
    EventLoopGroup group;

    static String region(int id) {
        return "{\"Regions\":{\"" + id + "\":{\"RegionID\":" + id + ",\"RegionCode\":\"r" + id + "\",\"RegionName\":\"R" + id
                + "\",\"Nodes\":[{\"Name\":\"" + id + "a\",\"RegionID\":" + id + ",\"HostName\":\"derp" + id + ".example\"}]}}}";
    }

    @BeforeEach
    void serveAMap() throws Exception {
        derpMapServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        derpMapServer.createContext("/derpmap", ex -> {
            fetches.incrementAndGet();
            byte[] b = served.get().getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status.get(), b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        derpMapServer.start();
        served.set(region(901));
    }

    @AfterEach
    void stop() {
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
        derpMapServer.stop(0);
    }

    ControlConfig config(String derp) throws Exception {
        String yaml = TestServer.yaml(dir, TestServer.freePort(), false).replace("""
                derp:
                  server:
                    enabled: false
                  urls: []
                """, derp.formatted(derpMapServer.getAddress().getPort()));
        return ControlConfig.parse(yaml, dir);
    }

    @Test
    void clientsGetTheNewMapAndAFailingUrlKeepsItsRegions() throws Exception {
        server = ControlServer.start(config("""
                derp:
                  server:
                    enabled: false
                  urls: [http://127.0.0.1:%d/derpmap]
                  auto_update_enabled: true
                  update_frequency: 1s
                """));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        User alice = server.store().users().create("alice", "", "");
        server.tailnet().announceFull();
        String key = server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(600)).fullKey();
        try (TestMachine m = new TestMachine(group, server.config().serverUrl(), "client")) {
            m.register(key);
            m.openStream();
            MapResponse full = m.await(Duration.ofSeconds(5), x -> x.node() != null);
            assertThat(full.derpMap().regions()).containsOnlyKeys(901);

            served.set(region(902));
            MapResponse delta = m.await(Duration.ofSeconds(10), x -> x.derpMap() != null);
            assertThat(delta.derpMap().regions()).containsOnlyKeys(902);
            assertThat(delta.node()).isNull();
            assertThat(delta.peers()).isNull();

            status.set(500);
            int before = fetches.get();
            while (fetches.get() < before + 2) Thread.sleep(100);
            assertThat(server.derpMap().regions()).as("the failing URL keeps its last regions").containsOnlyKeys(902);
        }
    }

    @Test
    void withoutAutoUpdateTheMapIsLoadedOnce() throws Exception {
        server = ControlServer.start(config("""
                derp:
                  server:
                    enabled: false
                  urls: [http://127.0.0.1:%d/derpmap]
                  auto_update_enabled: false
                  update_frequency: 1s
                """));
        served.set(region(902));
        Thread.sleep(2500);
        assertThat(fetches.get()).isEqualTo(1);
        assertThat(server.derpMap().regions()).containsOnlyKeys(901);
    }
}
