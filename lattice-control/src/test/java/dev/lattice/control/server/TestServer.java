package dev.lattice.control.server;

import dev.lattice.control.config.ControlConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;

/** A control server on loopback with SQLite in a temp dir, for protocol tests. */
final class TestServer {
    private TestServer() {}

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static ControlConfig config(Path dir, String extraYaml) throws IOException {
        int port = freePort();
        int stun = freePort();
        String yaml = """
                server_url: http://127.0.0.1:%d
                listen_addr: 127.0.0.1:%d
                noise:
                  private_key_path: %s/noise.key
                database:
                  type: sqlite
                  sqlite:
                    path: %s/db.sqlite
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
                dns:
                  magic_dns: true
                  base_domain: tailnet.test
                  nameservers:
                    global: [9.9.9.9]
                """.formatted(port, port, dir, dir, stun, dir) + extraYaml;
        java.nio.file.Files.writeString(dir.resolve("config.yaml.src"), yaml);
        return ControlConfig.parse(yaml, dir);
    }
}
