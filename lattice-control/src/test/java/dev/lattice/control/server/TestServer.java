package dev.lattice.control.server;

import dev.lattice.control.config.ControlConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test fixture: a control server config on loopback with SQLite, keys and the admin socket
 * ({@code DIR/run/lattice.sock}) in a temp dir. Shared by the protocol, admin and CLI tests.
 */
public final class TestServer {
    private TestServer() {}

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * The YAML for a server on {@code port}; with {@code embeddedDerp} the DERP relay (region 999, verify_clients)
     * and STUN on a free loopback port are on.
     */
    public static String yaml(Path dir, int port, boolean embeddedDerp) throws IOException {
        String derp = embeddedDerp ? """
                derp:
                  server:
                    enabled: true
                    region_id: 999
                    region_code: test
                    region_name: Test
                    verify_clients: true
                    stun_listen_addr: 127.0.0.1:%d
                    private_key_path: %s/derp.key
                    automatically_add_embedded_derp_region: true
                  urls: []
                """.formatted(freePort(), dir) : """
                derp:
                  server:
                    enabled: false
                  urls: []
                """;
        return """
                server_url: http://127.0.0.1:%d
                listen_addr: 127.0.0.1:%d
                metrics_listen_addr: 127.0.0.1:0
                noise:
                  private_key_path: %s/noise.key
                database:
                  type: sqlite
                  sqlite:
                    path: %s/db.sqlite
                unix_socket: %s/run/lattice.sock
                dns:
                  magic_dns: true
                  base_domain: tailnet.test
                  nameservers:
                    global: [9.9.9.9]
                """.formatted(port, port, dir, dir, dir) + derp;
    }

    /** A config with the embedded DERP on; its YAML is also left in {@code DIR/config.yaml.src}. */
    public static ControlConfig config(Path dir, String extraYaml) throws IOException {
        String yaml = yaml(dir, freePort(), true) + extraYaml;
        Files.writeString(dir.resolve("config.yaml.src"), yaml);
        return ControlConfig.parse(yaml, dir);
    }
}
