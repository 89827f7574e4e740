package dev.lattice.control.interop;

import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * An official tailscaled + tailscale CLI in a lab host, from {@code LATTICE_TAILSCALED} / {@code LATTICE_TAILSCALE}.
 * Logs upload is off ({@code --no-logs-no-support}); the lab hosts have no route off the machine anyway.
 */
final class OfficialTailscale implements AutoCloseable {
    final Host host;
    final Path dir;
    final Path socket;
    final BackgroundProcess daemon;

    private OfficialTailscale(Host host, Path dir, BackgroundProcess daemon) {
        this.host = host;
        this.dir = dir;
        this.socket = dir.resolve("tailscaled.sock");
        this.daemon = daemon;
    }

    record Binaries(Path tailscaled, Path tailscale) {}

    /** The binaries, or a visible skip naming the variables to set. */
    static Binaries binaries() {
        Optional<Path> d = env("LATTICE_TAILSCALED");
        Optional<Path> c = env("LATTICE_TAILSCALE");
        Assumptions.assumeTrue(d.isPresent() && c.isPresent(),
                "LATTICE_TAILSCALED and LATTICE_TAILSCALE not set: official Tailscale client interop skipped");
        return new Binaries(d.get(), c.get());
    }

    private static Optional<Path> env(String name) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(Path.of(v)).filter(Files::isExecutable);
    }

    static OfficialTailscale start(Binaries bins, Host host, Path dir) throws java.io.IOException {
        return start(bins, host, dir, Map.of());
    }

    /**
     * @param env extra environment, e.g. {@code TS_DEBUG_USE_DERP_HTTP=1} so the client reaches a DERP server on a
     *     plain-HTTP server_url (official clients otherwise insist on TLS for DERP)
     */
    static OfficialTailscale start(Binaries bins, Host host, Path dir, Map<String, String> env) throws java.io.IOException {
        Files.createDirectories(dir);
        Map<String, String> e = new java.util.HashMap<>(env);
        e.put("TS_NO_LOGS_NO_SUPPORT", "true");
        BackgroundProcess p = host.spawn("tailscaled", e,
                List.of(bins.tailscaled().toString(), "--statedir=" + dir, "--state=" + dir.resolve("tailscaled.state"),
                        "--socket=" + dir.resolve("tailscaled.sock"), "--tun=ts0", "--port=41641", "--no-logs-no-support"));
        OfficialTailscale t = new OfficialTailscale(host, dir, p);
        Instant end = Instant.now().plusSeconds(20);
        while (!Files.exists(t.socket) && Instant.now().isBefore(end)) Lab.sleep(Duration.ofMillis(100));
        return t;
    }

    ExecResult cli(Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of(bins().tailscale().toString(), "--socket=" + socket));
        cmd.addAll(List.of(args));
        return host.exec(timeout, null, Map.of(), cmd);
    }

    private static Binaries bins() {
        return new Binaries(env("LATTICE_TAILSCALED").orElseThrow(), env("LATTICE_TAILSCALE").orElseThrow());
    }

    ExecResult up(String loginServer, String authKey, String hostname) {
        return cli(Duration.ofSeconds(60), "up", "--login-server=" + loginServer, "--authkey=" + authKey,
                "--hostname=" + hostname, "--accept-dns=false", "--timeout=50s");
    }

    JsonNode status() {
        ExecResult r = cli(Duration.ofSeconds(15), "status", "--json");
        if (!r.ok()) throw new AssertionError("tailscale status failed: " + r.describe());
        return JsonMapper.shared().readTree(r.stdout());
    }

    /** Host names of peers in {@code tailscale status --json}. */
    List<String> peerHostNames() {
        List<String> out = new ArrayList<>();
        JsonNode peers = status().path("Peer");
        for (JsonNode p : peers) out.add(p.path("HostName").asString());
        return out;
    }

    String ipv4() {
        ExecResult r = cli(Duration.ofSeconds(10), "ip", "-4");
        if (!r.ok()) throw new AssertionError("tailscale ip failed: " + r.describe());
        return r.stdout().trim();
    }

    /** Polls until {@code cond} holds on the status, or fails with the last status and the daemon's log. */
    void await(String what, Duration timeout, Predicate<OfficialTailscale> cond) {
        Instant end = Instant.now().plus(timeout);
        while (Instant.now().isBefore(end)) {
            try {
                if (cond.test(this)) return;
            } catch (AssertionError | RuntimeException e) {
                // not ready yet
            }
            Lab.sleep(Duration.ofMillis(500));
        }
        throw new AssertionError(host.name() + ": " + what + " not reached in " + timeout + "\nstatus: "
                + cli(Duration.ofSeconds(10), "status").output() + "\ntailscaled log:\n" + daemon.tail(60));
    }

    @Override
    public void close() {
        cli(Duration.ofSeconds(10), "down");
        daemon.stop(Duration.ofSeconds(5));
    }
}
