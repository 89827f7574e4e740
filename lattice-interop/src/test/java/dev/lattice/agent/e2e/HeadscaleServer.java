package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The official {@code headscale} (from {@code LATTICE_HEADSCALE}) serving in a lab host: plain HTTP on the lab
 * address, sqlite in its work dir, the embedded DERP relay + STUN and no external DERP map, MagicDNS on. Its CLI
 * talks to the server over the unix socket in the same work dir.
 */
final class HeadscaleServer implements AutoCloseable {
    static final int PORT = 8080;

    final Host host;
    final String ip;
    final Path binary;
    final Path config;
    final BackgroundProcess process;

    private HeadscaleServer(Host host, String ip, Path binary, Path config, BackgroundProcess process) {
        this.host = host;
        this.ip = ip;
        this.binary = binary;
        this.config = config;
        this.process = process;
    }

    /** The binary named by LATTICE_HEADSCALE, or a visible skip. */
    static Path binary() {
        String v = System.getenv("LATTICE_HEADSCALE");
        Optional<Path> p = v == null || v.isBlank() ? Optional.empty()
                : Optional.of(Path.of(v)).filter(Files::isExecutable);
        Assumptions.assumeTrue(p.isPresent(), "LATTICE_HEADSCALE not set to an executable headscale: Headscale interop skipped");
        return p.get();
    }

    String url() {
        return "http://" + ip + ":" + PORT;
    }

    /** Writes the config, starts {@code headscale serve} and waits until /health answers. */
    static HeadscaleServer start(Path binary, Host host, String ip, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path cfg = dir.resolve("config.yaml");
        // Everything that would reach the internet is off: update checks, DERP map URLs, logtail.
        // override_local_dns needs global nameservers, which a lab has none of.
        Files.writeString(cfg, """
                server_url: http://%1$s:%2$d
                listen_addr: %1$s:%2$d
                metrics_listen_addr: 127.0.0.1:9090
                grpc_listen_addr: 127.0.0.1:50443
                grpc_allow_insecure: false
                disable_check_updates: true
                noise:
                  private_key_path: %3$s/noise_private.key
                prefixes:
                  v4: 100.64.0.0/10
                  v6: fd7a:115c:a1e0::/48
                  allocation: sequential
                derp:
                  server:
                    enabled: true
                    region_id: 999
                    region_code: headscale
                    region_name: Headscale Embedded DERP
                    verify_clients: true
                    stun_listen_addr: 0.0.0.0:3478
                    private_key_path: %3$s/derp_server_private.key
                    automatically_add_embedded_derp_region: true
                    ipv4: %1$s
                  urls: []
                  paths: []
                  auto_update_enabled: false
                database:
                  type: sqlite
                  sqlite:
                    path: %3$s/db.sqlite
                    write_ahead_log: true
                log:
                  level: debug
                  format: text
                policy:
                  mode: file
                  path: ""
                dns:
                  magic_dns: true
                  base_domain: tailnet.test
                  override_local_dns: false
                  nameservers:
                    global: []
                unix_socket: %3$s/headscale.sock
                unix_socket_permission: "0770"
                logtail:
                  enabled: false
                """.formatted(ip, PORT, dir));
        BackgroundProcess p = host.spawn("headscale", Map.of(), List.of(binary.toString(), "serve", "-c", cfg.toString()));
        HeadscaleServer s = new HeadscaleServer(host, ip, binary, cfg, p);
        s.awaitHealthy(Duration.ofSeconds(60));
        return s;
    }

    void awaitHealthy(Duration timeout) {
        Instant end = Instant.now().plus(timeout);
        while (Instant.now().isBefore(end)) {
            if (!process.isAlive()) throw new AssertionError("headscale exited:\n" + process.tail(80));
            if (host.exec(Duration.ofSeconds(5), "curl", "-sf", url() + "/health").ok()) return;
            Lab.sleep(Duration.ofMillis(300));
        }
        throw new AssertionError("headscale not healthy after " + timeout + ":\n" + process.tail(80));
    }

    /** Runs {@code headscale -c CONFIG args... -o json} and returns the parsed output, failing on error. */
    JsonNode cli(String... args) {
        List<String> cmd = new ArrayList<>(List.of(binary.toString(), "-c", config.toString()));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-o", "json"));
        ExecResult r = host.exec(Duration.ofSeconds(30), null, Map.of(), cmd);
        assertThat(r.ok()).as(() -> "headscale CLI failed: " + r.describe() + "\nserver log:\n" + process.tail(40)).isTrue();
        return JsonMapper.shared().readTree(r.stdout());
    }

    /** Creates {@code name} and returns its numeric id (v0.29's preauthkeys take {@code --user <id>}). */
    long createUser(String name) {
        cli("users", "create", name);
        for (JsonNode u : cli("users", "list")) {
            if (name.equals(u.path("name").asString())) return u.path("id").asLong();
        }
        throw new AssertionError("user " + name + " not in `headscale users list`");
    }

    /** A reusable pre-auth key for user {@code userId}, valid for an hour. */
    String reusableKey(long userId) {
        String key = cli("preauthkeys", "create", "--user", Long.toString(userId), "--reusable", "--expiration", "1h")
                .path("key").asString();
        assertThat(key).as("pre-auth key").isNotBlank();
        return key;
    }

    @Override
    public void close() {
        process.stop(Duration.ofSeconds(5));
    }
}
