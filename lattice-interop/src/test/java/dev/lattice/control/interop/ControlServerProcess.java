package dev.lattice.control.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code bin/lattice-control serve} running in a lab host, with a Headscale-format config written for the lab,
 * and its admin CLI (which talks to the server over the unix socket).
 */
public final class ControlServerProcess implements AutoCloseable {
    public static final int PORT = 8080;

    final Host host;
    public final String ip;
    final Path dir;
    final Path config;
    public final BackgroundProcess process;

    private ControlServerProcess(Host host, String ip, Path dir, Path config, BackgroundProcess process) {
        this.host = host;
        this.ip = ip;
        this.dir = dir;
        this.config = config;
        this.process = process;
    }

    static Path launcher() {
        String env = System.getenv("LATTICE_CONTROL");
        if (env != null && !env.isBlank()) return Path.of(env);
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("bin/lattice-control"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("bin/lattice-control not found above " + Path.of("").toAbsolutePath());
        return p.resolve("bin/lattice-control");
    }

    public static String serverUrl(String ip) {
        return "http://" + ip + ":" + PORT;
    }

    /** Starts the server on {@code ip} and waits until /health answers. */
    public static ControlServerProcess start(Host host, String ip, Path dir, String extraYaml) throws IOException {
        return start(host, ip, dir, extraYaml, "");
    }

    /** @param dnsYaml more keys of the {@code dns} section, indented by two spaces */
    public static ControlServerProcess start(Host host, String ip, Path dir, String extraYaml, String dnsYaml)
            throws IOException {
        Files.createDirectories(dir);
        Path cfg = dir.resolve("config.yaml");
        Files.writeString(cfg, """
                server_url: %s
                listen_addr: %s:%d
                metrics_listen_addr: 127.0.0.1:9090
                noise:
                  private_key_path: %s/noise_private.key
                prefixes:
                  v4: 100.64.0.0/10
                  v6: fd7a:115c:a1e0::/48
                database:
                  type: sqlite
                  sqlite:
                    path: %s/db.sqlite
                derp:
                  server:
                    enabled: true
                    region_id: 999
                    region_code: lattice
                    region_name: Lattice test DERP
                    verify_clients: true
                    stun_listen_addr: 0.0.0.0:3478
                    private_key_path: %s/derp_server_private.key
                    automatically_add_embedded_derp_region: true
                    ipv4: %s
                  urls: []
                dns:
                  magic_dns: true
                  base_domain: tailnet.test
                  nameservers:
                    global: []
                %slog:
                  level: debug
                unix_socket: %s/control.sock
                unix_socket_permissions: "0770"
                """.formatted(serverUrl(ip), ip, PORT, dir, dir, dir, ip, dnsYaml.isBlank() ? "" : dnsYaml.stripTrailing() + "\n", dir)
                + extraYaml);
        BackgroundProcess p = host.spawn("lattice-control", java.util.Map.of(),
                List.of(launcher().toString(), "serve", "-c", cfg.toString()));
        ControlServerProcess s = new ControlServerProcess(host, ip, dir, cfg, p);
        s.awaitHealthy(Duration.ofSeconds(60));
        return s;
    }

    /**
     * Starts the server on {@code ip} with a config of the caller's ({@code yaml}, written to {@code dir/config.yaml};
     * it must listen on {@code ip}:{@link #PORT}) and waits until /health answers there.
     */
    public static ControlServerProcess startWithConfig(Host host, String ip, Path dir, String yaml) throws IOException {
        Files.createDirectories(dir);
        Path cfg = dir.resolve("config.yaml");
        Files.writeString(cfg, yaml);
        BackgroundProcess p = host.spawn("lattice-control", java.util.Map.of(),
                List.of(launcher().toString(), "serve", "-c", cfg.toString()));
        ControlServerProcess s = new ControlServerProcess(host, ip, dir, cfg, p);
        s.awaitHealthy(Duration.ofSeconds(60));
        return s;
    }

    public void awaitHealthy(Duration timeout) {
        Instant end = Instant.now().plus(timeout);
        while (Instant.now().isBefore(end)) {
            if (!process.isAlive()) throw new AssertionError("lattice-control exited:\n" + process.tail(80));
            ExecResult r = host.exec(Duration.ofSeconds(5), "curl", "-sf", serverUrl(ip) + "/health");
            if (r.ok()) return;
            dev.lattice.testlab.Lab.sleep(Duration.ofMillis(300));
        }
        throw new AssertionError("lattice-control not healthy after " + timeout + ":\n" + process.tail(80));
    }

    /** Runs an admin command ({@code lattice-control -c CONFIG args...}) and returns its stdout, failing on error. */
    public String admin(String... args) {
        List<String> cmd = new ArrayList<>(List.of(launcher().toString(), "-c", config.toString()));
        cmd.addAll(List.of(args));
        ExecResult r = host.exec(Duration.ofSeconds(60), null, java.util.Map.of(), cmd);
        assertThat(r.ok()).as(() -> "admin command failed: " + r.describe() + "\nserver log:\n" + process.tail(40)).isTrue();
        return r.stdout().trim();
    }

    @Override
    public void close() {
        process.stop(Duration.ofSeconds(5));
    }
}
