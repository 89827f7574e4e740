package dev.lattice.testlab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;

/**
 * The YAML of a lattice-control config for tests: every listener on loopback, SQLite, keys and the admin socket in
 * one directory, MagicDNS on {@code tailnet.test}. The control, agent and interop tests build their servers from
 * it, so a config key that changes is changed here once. Text only: this module does not depend on the server.
 */
public final class ControlYaml {
    private final Path dir;
    private final int port;
    private String metricsAddr = "127.0.0.1:0";
    private Path unixSocket;
    private List<String> nameservers = List.of("9.9.9.9");
    private int stunPort; // 0: no embedded DERP
    private String derpIpv4;

    private ControlYaml(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** A server at {@code http://127.0.0.1:PORT} with its state in {@code dir}; the embedded DERP is off. */
    public static ControlYaml on(Path dir, int port) {
        return new ControlYaml(dir, port);
    }

    /** The embedded DERP relay (region 999 "test", verify_clients) with STUN on {@code stunPort}. */
    public ControlYaml embeddedDerp(int stunPort) {
        this.stunPort = stunPort;
        return this;
    }

    /** The embedded DERP node's advertised IPv4 address, so clients dial it without a DNS name. */
    public ControlYaml derpIpv4(String address) {
        this.derpIpv4 = address;
        return this;
    }

    /** Where metrics listen (default: a free loopback port). */
    public ControlYaml metrics(String listenAddr) {
        this.metricsAddr = listenAddr;
        return this;
    }

    /** The admin socket (default: {@code DIR/run/lattice.sock}). */
    public ControlYaml unixSocket(Path path) {
        this.unixSocket = path;
        return this;
    }

    /** The global nameservers handed to clients (default: 9.9.9.9, never queried by the tests). */
    public ControlYaml nameservers(List<String> addresses) {
        this.nameservers = List.copyOf(addresses);
        return this;
    }

    public String build() {
        String derp = stunPort == 0 ? """
                derp:
                  server:
                    enabled: false
                  urls: []
                """ : """
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
                %s  urls: []
                """.formatted(stunPort, dir, derpIpv4 == null ? "" : "    ipv4: " + derpIpv4 + "\n");
        return """
                server_url: http://127.0.0.1:%d
                listen_addr: 127.0.0.1:%d
                metrics_listen_addr: %s
                noise:
                  private_key_path: %s/noise.key
                database:
                  type: sqlite
                  sqlite:
                    path: %s/db.sqlite
                unix_socket: %s
                dns:
                  magic_dns: true
                  base_domain: tailnet.test
                  nameservers:
                    global: [%s]
                """.formatted(port, port, metricsAddr, dir, dir,
                unixSocket != null ? unixSocket : dir.resolve("run/lattice.sock"), String.join(", ", nameservers))
                + derp;
    }

    /** A loopback TCP port that was free a moment ago. */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
