package dev.lattice.agent.testing;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.server.ControlServer;
import dev.lattice.control.store.User;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/** An in-process lattice-control on loopback for the agent's tests (lattice-control's own test fixtures are not visible here). */
public final class TestControlServer implements AutoCloseable {
    public final ControlServer server;
    public final User alice;

    private TestControlServer(ControlServer server, User alice) {
        this.server = server;
        this.alice = alice;
    }

    public static ControlConfig config(Path dir, String extraYaml) throws IOException {
        int port = freePort();
        int stun = freePort();
        String yaml = """
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
                    ipv4: 127.0.0.1
                  urls: []
                """.formatted(port, port, dir, dir, dir, stun, dir) + extraYaml;
        return ControlConfig.parse(yaml, dir);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A server with a user "alice" and its embedded DERP relay (plain HTTP, on loopback). */
    public static TestControlServer start(Path dir, String extraYaml) throws Exception {
        ControlServer s = ControlServer.start(config(dir, extraYaml));
        User alice = s.store().users().create("alice", "Alice", "alice@example.com");
        s.tailnet().reload();
        return new TestControlServer(s, alice);
    }

    public String url() {
        return server.config().serverUrl().toString();
    }

    public String preAuthKey() {
        return server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(3600)).fullKey();
    }

    @Override
    public void close() {
        server.close();
    }
}
