package dev.lattice.agent.e2e;

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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A tailnet node in a lab host: our {@code latticed} + {@code lattice}, or the official {@code tailscaled} +
 * {@code tailscale} from {@code LATTICE_TAILSCALED}/{@code LATTICE_TAILSCALE}. Both are driven with the very same
 * flags and commands, which is itself part of the compatibility claim.
 */
final class TailnetNode implements AutoCloseable {
    enum Kind { LATTICE, OFFICIAL }

    record Binaries(Kind kind, Path daemon, Path cli) {}

    /** "pong from h2 (100.64.0.2) via 10.0.0.2:41641 in 1ms" or "... via DERP(lattice) in 12ms". */
    static final Pattern PONG = Pattern.compile("pong from (\\S+) \\((\\S+)\\) via (\\S+) in (\\S+)");

    record Pong(String name, String ip, String via, String latency) {
        boolean direct() {
            return !via.startsWith("DERP(");
        }
    }

    final Binaries bins;
    final Host host;
    final Path dir;
    final Path socket;
    final String tun;
    final Map<String, String> env;
    /** More daemon flags (e.g. latticed's --funnel-listen). */
    List<String> daemonArgs = List.of();
    volatile BackgroundProcess daemon;

    private TailnetNode(Binaries bins, Host host, Path dir, String tun, Map<String, String> env) {
        this.bins = bins;
        this.host = host;
        this.dir = dir;
        this.socket = dir.resolve("daemon.sock");
        this.tun = tun;
        this.env = env;
    }

    static Binaries lattice() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("bin/latticed"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("bin/latticed not found above " + Path.of("").toAbsolutePath());
        return new Binaries(Kind.LATTICE, p.resolve("bin/latticed"), p.resolve("bin/lattice"));
    }

    /** The official binaries, or a visible skip naming the variables to set. */
    static Binaries official() {
        Optional<Path> d = env("LATTICE_TAILSCALED");
        Optional<Path> c = env("LATTICE_TAILSCALE");
        Assumptions.assumeTrue(d.isPresent() && c.isPresent(),
                "LATTICE_TAILSCALED and LATTICE_TAILSCALE not set: official Tailscale client interop skipped");
        return new Binaries(Kind.OFFICIAL, d.get(), c.get());
    }

    private static Optional<Path> env(String name) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(Path.of(v)).filter(Files::isExecutable);
    }

    static TailnetNode start(Binaries bins, Host host, Path dir) throws IOException {
        return start(bins, host, dir, Map.of());
    }

    static TailnetNode start(Binaries bins, Host host, Path dir, Map<String, String> env) throws IOException {
        return start(bins, host, dir, env, List.of());
    }

    /** @param daemonArgs flags added to the daemon's command line */
    static TailnetNode start(Binaries bins, Host host, Path dir, Map<String, String> env, List<String> daemonArgs)
            throws IOException {
        Files.createDirectories(dir);
        TailnetNode n = new TailnetNode(bins, host, dir, bins.kind() == Kind.LATTICE ? "lattice0" : "ts0", env);
        n.daemonArgs = List.copyOf(daemonArgs);
        n.startDaemon();
        return n;
    }

    void startDaemon() {
        Map<String, String> e = new HashMap<>(env);
        e.put("TS_NO_LOGS_NO_SUPPORT", "true");
        List<String> cmd = new ArrayList<>(List.of(bins.daemon().toString(), "--statedir=" + dir,
                "--state=" + dir.resolve("daemon.state"), "--socket=" + socket, "--tun=" + tun, "--port=41641",
                "--no-logs-no-support"));
        if (bins.kind() == Kind.LATTICE && "1".equals(System.getenv("LATTICE_E2E_VERBOSE"))) cmd.add("--verbose=1");
        cmd.addAll(daemonArgs);
        daemon = host.spawn(bins.kind() == Kind.LATTICE ? "latticed" : "tailscaled", e, cmd);
        Instant end = Instant.now().plusSeconds(30);
        while (!Files.exists(socket) && Instant.now().isBefore(end)) {
            if (!daemon.isAlive()) throw new AssertionError(host.name() + ": daemon exited:\n" + daemon.tail(60));
            Lab.sleep(Duration.ofMillis(100));
        }
    }

    /**
     * latticed in container mode: started with no flags at all, everything from {@code env} (LATTICE_AUTHKEY,
     * LATTICE_ROUTES, ...) plus the state directory and socket this node uses; it logs in by itself.
     */
    static TailnetNode startFromEnvironment(Binaries bins, Host host, Path dir, Map<String, String> env) throws IOException {
        Files.createDirectories(dir);
        Map<String, String> e = new HashMap<>(env);
        e.put("LATTICE_STATE_DIR", dir.toString());
        e.put("LATTICE_SOCKET", dir.resolve("daemon.sock").toString());
        TailnetNode n = new TailnetNode(bins, host, dir, "lattice0", Map.copyOf(e));
        n.daemon = host.spawn("latticed", e, List.of(bins.daemon().toString()));
        Instant end = Instant.now().plusSeconds(30);
        while (!Files.exists(n.socket) && Instant.now().isBefore(end)) {
            if (!n.daemon.isAlive()) throw new AssertionError(host.name() + ": daemon exited:\n" + n.daemon.tail(60));
            Lab.sleep(Duration.ofMillis(100));
        }
        return n;
    }

    /** Stops the daemon (as a service manager would, with SIGTERM) and starts it again with the same state. */
    void restartDaemon() {
        daemon.stop(Duration.ofSeconds(10));
        startDaemon();
    }

    ExecResult cli(Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of(bins.cli().toString(), "--socket=" + socket));
        cmd.addAll(List.of(args));
        return host.exec(timeout, null, Map.of(), cmd);
    }

    ExecResult up(String loginServer, String authKey, String hostname, String... extra) {
        List<String> args = new ArrayList<>(List.of("up", "--login-server=" + loginServer, "--authkey=" + authKey,
                "--hostname=" + hostname, "--timeout=50s"));
        args.addAll(List.of(extra));
        if (args.stream().noneMatch(a -> a.startsWith("--accept-dns"))) args.add("--accept-dns=false");
        // With MagicDNS the daemon rewrites /etc/resolv.conf: only ever the lab host's own copy, never this machine's.
        if (args.contains("--accept-dns=true") && !Files.exists(Path.of("/etc/netns", host.netns(), "resolv.conf"))) {
            throw new IllegalStateException(host.name() + ": --accept-dns=true needs host.resolvConf(...) before the daemon starts");
        }
        return cli(Duration.ofSeconds(70), args.toArray(String[]::new));
    }

    JsonNode status() {
        ExecResult r = cli(Duration.ofSeconds(15), "status", "--json");
        if (!r.ok()) throw new AssertionError("status failed: " + r.describe());
        return JsonMapper.shared().readTree(r.stdout());
    }

    List<String> peerHostNames() {
        List<String> out = new ArrayList<>();
        for (JsonNode p : status().path("Peer")) out.add(p.path("HostName").asString());
        return out;
    }

    String ipv4() {
        ExecResult r = cli(Duration.ofSeconds(15), "ip", "-4");
        if (!r.ok()) throw new AssertionError("ip -4 failed: " + r.describe());
        return r.stdout().trim();
    }

    /** One {@code ping -c 1} (disco ping) of {@code target}; empty if there was no pong. */
    Optional<Pong> discoPing(String target, Duration timeout) {
        ExecResult r = cli(timeout.plusSeconds(10), "ping", "-c", "1", "--timeout", timeout.toSeconds() + "s", target);
        Matcher m = PONG.matcher(r.stdout());
        return m.find() ? Optional.of(new Pong(m.group(1), m.group(2), m.group(3), m.group(4))) : Optional.empty();
    }

    /** Pings until a pong arrives over a direct path; returns it, or fails with the last output and the log. */
    Pong awaitDirect(String target, Duration timeout) {
        Instant start = Instant.now(), end = start.plus(timeout);
        Pong last = null;
        while (Instant.now().isBefore(end)) {
            Optional<Pong> p = discoPing(target, Duration.ofSeconds(2));
            if (p.isPresent()) {
                last = p.get();
                if (last.direct()) return last;
            }
            Lab.sleep(Duration.ofMillis(300));
        }
        throw new AssertionError(host.name() + ": no direct pong from " + target + " in " + timeout + " (last: " + last
                + ")\n" + daemon.tail(60));
    }

    /**
     * True once an ICMP echo from {@code h} to {@code ip} is answered within {@code within}. One echo per second,
     * so a first handshake that needs WireGuard's 5 s retry (crossing initiations) still counts.
     */
    static boolean icmp(Host h, String ip, Duration within) {
        Instant end = Instant.now().plus(within);
        do {
            if (h.ping(ip, 1, Duration.ofSeconds(1)).anyReceived()) return true;
        } while (Instant.now().isBefore(end));
        return false;
    }

    /** Polls until {@code cond} holds, or fails with the status and the daemon's log. */
    void await(String what, Duration timeout, Predicate<TailnetNode> cond) {
        Instant end = Instant.now().plus(timeout);
        while (Instant.now().isBefore(end)) {
            try {
                if (cond.test(this)) return;
            } catch (AssertionError | RuntimeException e) {
                // not ready yet
            }
            Lab.sleep(Duration.ofMillis(300));
        }
        throw new AssertionError(host.name() + ": " + what + " not reached in " + timeout + "\nstatus: "
                + cli(Duration.ofSeconds(10), "status").output() + "\ndaemon log:\n" + daemon.tail(80));
    }

    @Override
    public void close() {
        try {
            cli(Duration.ofSeconds(10), "down");
        } finally {
            daemon.stop(Duration.ofSeconds(5));
        }
    }
}
