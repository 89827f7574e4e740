package dev.lattice.control.admin;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.server.ControlServer;
import java.net.ServerSocket;
import java.nio.file.Path;

/** A control server on loopback with SQLite and the admin socket in a temp dir. */
final class AdminTestServer {
    private AdminTestServer() {}

    static ControlServer start(Path dir, String extraYaml) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
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
                    enabled: false
                  urls: []
                unix_socket: %s/lattice.sock
                dns:
                  magic_dns: true
                  base_domain: tailnet.test
                """.formatted(port, port, dir, dir, dir) + extraYaml;
        return ControlServer.start(ControlConfig.parse(yaml, dir));
    }
}
