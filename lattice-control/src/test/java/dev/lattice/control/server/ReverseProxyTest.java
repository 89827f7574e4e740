package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.User;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control protocol through nginx configured exactly as the self-hoster's reverse proxy in
 * ../shared/examples/nginx-reverse-proxy.conf (only the upstream port differs): the ts2021 upgrade and the map
 * stream pass through. Skipped if Debian's nginx is not installed (.ci/run installs it).
 */
@Timeout(60)
class ReverseProxyTest {
    /** The example's location block, verbatim apart from the upstream port. */
    private static final String LOCATION = """
            location / {
                proxy_pass http://127.0.0.1:%d;
                proxy_http_version 1.1;
                proxy_set_header Upgrade $http_upgrade;
                proxy_set_header Connection "upgrade";
                proxy_set_header Host $host;
            }
            """;

    @TempDir
    Path dir;

    @Test
    void registerAndStreamThroughNginx() throws Exception {
        var nginx = dev.lattice.testlab.Lab.findCommand("nginx");
        Assumptions.assumeTrue(nginx.isPresent(), "nginx not installed: reverse-proxy test skipped");
        int proxyPort = TestServer.freePort();
        var cfg = TestServer.config(dir, "");
        // clients know the server by the proxy's URL
        String yaml = Files.readString(dir.resolve("config.yaml.src"));
        cfg = dev.lattice.control.config.ControlConfig.parse(
                yaml.replaceFirst("server_url: http://127.0.0.1:\\d+", "server_url: http://127.0.0.1:" + proxyPort), dir);
        try (ControlServer server = ControlServer.start(cfg)) {
            int upstream = server.httpAddress().getPort();
            Path conf = dir.resolve("nginx.conf");
            Files.writeString(conf, """
                    pid %s/nginx.pid;
                    error_log %s/error.log;
                    worker_processes 1;
                    events { worker_connections 64; }
                    http {
                      access_log off;
                      client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;
                      server {
                        listen 127.0.0.1:%d;
                    %s
                      }
                    }
                    """.formatted(dir, dir, dir, dir, dir, dir, dir, proxyPort, LOCATION.formatted(upstream)));
            Process p = new ProcessBuilder(nginx.get().toString(), "-c", conf.toString(), "-p", dir.toString(), "-g", "daemon off;")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("nginx.out").toFile()).start();
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            try {
                waitForPort(proxyPort);
                User u = server.store().users().create("proxied", null, null);
                server.tailnet().announceFull();
                String key = server.store().preAuthKeys().create(u.id(), true, false, List.of(), Instant.now().plusSeconds(600)).fullKey();
                try (TestMachine m = new TestMachine(group, URI.create("http://127.0.0.1:" + proxyPort), "behind-proxy")) {
                    assertThat(m.register(key).machineAuthorized()).isTrue();
                    m.openStream();
                    var full = m.await(Duration.ofSeconds(5), x -> x.node() != null);
                    assertThat(full.node().name()).isEqualTo("behind-proxy.tailnet.test.");
                    // the embedded DERP region advertises the proxy's host and port
                    assertThat(full.derpMap().regions().get(999).nodes().get(0).derpPort()).isEqualTo(proxyPort);
                }
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                p.destroy();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    private static void waitForPort(int port) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            try (var s = new java.net.Socket("127.0.0.1", port)) {
                return;
            } catch (java.io.IOException e) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("nginx did not start listening on " + port);
    }
}
