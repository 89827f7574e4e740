package dev.lattice.agent.cli;

import dev.lattice.agent.cli.QuickArgs.IpArgs;
import dev.lattice.agent.cli.QuickArgs.PingArgs;
import dev.lattice.agent.cli.QuickArgs.StatusArgs;
import dev.lattice.agent.cli.QuickArgs.UpArgs;
import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.ipn.LoginWarning;
import dev.lattice.agent.ipn.MaskedPrefs;
import dev.lattice.agent.ipn.PeerStatus;
import dev.lattice.agent.ipn.PingResult;
import dev.lattice.agent.ipn.Status;
import dev.lattice.agent.ipn.UpRequest;
import dev.lattice.agent.ipn.UpResult;
import dev.lattice.agent.localapi.CliRoute;
import dev.lattice.agent.localapi.LocalApiClient;
import dev.lattice.agent.localapi.LocalApiException;
import dev.lattice.agent.localapi.LocalApiJson;
import dev.lattice.agent.state.Prefs;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The bodies of the quick commands ({@link QuickArgs}: {@code status}, {@code ip}, {@code ping}, {@code up}), written once:
 * {@link LatticeCli}'s commands call them after picocli has parsed, and latticed calls them for {@link CliMain}
 * ({@link CliRoute}) over a {@link LocalApiClient} that reaches its routes in process. {@code QuickCliTest} runs
 * both paths on the same command lines.
 */
public final class QuickCli {
    private final PrintWriter out;
    private final PrintWriter err;
    Clock clock = Clock.systemDefaultZone();
    /** Between tailscale ping's pings; tests shorten it. */
    Duration pingInterval = Duration.ofSeconds(1);
    /** Between up's status polls while it waits for Running (a login in the browser); tests shorten it. */
    Duration upPollInterval = Duration.ofMillis(500);
    /**
     * Whether {@code up --authkey=file:PATH} may read PATH: only in the {@code lattice} process. latticed runs as root
     * and must never read a file for a caller (the CLI sends the key itself).
     */
    private final boolean readsFiles;

    QuickCli(PrintWriter out, PrintWriter err, boolean readsFiles) {
        this.out = out;
        this.err = err;
        this.readsFiles = readsFiles;
    }

    QuickCli(PrintWriter out, PrintWriter err, Clock clock, Duration pingInterval, Duration upPollInterval, boolean readsFiles) {
        this(out, err, readsFiles);
        this.clock = clock;
        this.pingInterval = pingInterval;
        this.upPollInterval = upPollInterval;
    }

    /** The daemon's side of {@link CliRoute}: a command for {@code args}, or empty when they are not a quick command. */
    public static Optional<CliRoute.Command> accept(List<String> args) {
        return accept(args, Clock.systemDefaultZone(), Duration.ofSeconds(1), IN_PROCESS_UP_POLL);
    }

    /** As {@link #accept(List)} with a clock and the interval of ping's pings and up's polls (tests). */
    static Optional<CliRoute.Command> accept(List<String> args, Clock clock, Duration interval) {
        return accept(args, clock, interval, interval);
    }

    /**
     * up's status polls in latticed: in process they cost no connection, so an approved browser login is noticed
     * sooner than the CLI's own 500 ms polls would.
     */
    static final Duration IN_PROCESS_UP_POLL = Duration.ofMillis(100);

    private static Optional<CliRoute.Command> accept(List<String> args, Clock clock, Duration pingInterval, Duration upPoll) {
        if (!(QuickArgs.parse(args) instanceof QuickArgs.Daemon d)) return Optional.empty();
        // The CLI reads key files itself and sends the key; a caller that sends a file name is not our CLI.
        if (d instanceof UpArgs u && AuthKeyArg.isFile(u.authKey())) return Optional.empty();
        return Optional.of((client, out, err) -> {
            return new QuickCli(out, err, clock, pingInterval, upPoll, false).run(d, client);
        });
    }

    /**
     * The exit code, as {@link LatticeCli#run} returns it (its exception handler's lines and codes). A failure to write
     * the output (the CLI went away) is thrown.
     */
    int run(QuickArgs.Daemon c, LocalApiClient client) {
        try {
            return switch (c) {
                case StatusArgs s -> status(s, client);
                case IpArgs a -> ip(a, client);
                case PingArgs p -> ping(p, client);
                case UpArgs u -> up(u, client);
            };
        } catch (CliException | LocalApiException e) {
            err.println(e.getMessage());
            err.flush();
            return 1;
        } catch (UncheckedIOException e) {
            throw e;
        } catch (RuntimeException e) {
            // as picocli does for LatticeCli: the stack trace, exit code 1
            e.printStackTrace(err);
            return 1;
        }
    }

    int status(StatusArgs a, LocalApiClient client) throws LocalApiException {
        Status st = client.status();
        if (a.json()) {
            if (a.active() && st.peer() != null) {
                var kept = new TreeMap<String, PeerStatus>();
                st.peer().forEach((k, v) -> {
                    if (v.active()) kept.put(k, v);
                });
                st = new Status(st.version(), st.backendState(), st.authUrl(), st.tailscaleIps(), st.self(),
                        st.health(), st.magicDnsSuffix(), st.currentTailnet(), st.exitNodeStatus(), kept, st.user(),
                        st.certDomains());
            }
            out.print(LocalApiJson.indented(st)); // no newline, as tailscale
            return 0;
        }
        String desc = StatusFormat.notRunningDescription(st);
        if (desc != null) {
            if (st.health() != null && !st.health().isEmpty()
                    && (st.backendState() == BackendState.NoState || st.backendState() == BackendState.Starting)) {
                out.println(StatusFormat.health(st));
            }
            out.println(desc);
            return 1;
        }
        out.print(StatusFormat.table(st, a.self(), a.peers(), a.active(), a.header(), clock.instant()));
        try {
            out.print(StatusFormat.funnel(client.serveConfig().config()));
        } catch (LocalApiException | RuntimeException e) {
            out.print(StatusFormat.funnelUnknown(e.getMessage()));
        }
        return 0;
    }

    int ip(IpArgs a, LocalApiClient client) throws LocalApiException, CliException {
        if (a.args().size() > 1) throw new CliException("too many arguments, expected at most one peer");
        int flags = (a.want1() ? 1 : 0) + (a.want4() ? 1 : 0) + (a.want6() ? 1 : 0);
        if (flags > 1) throw new CliException("lattice ip -1, -4, and -6 are mutually exclusive");
        boolean v4 = a.want4();
        boolean v6 = a.want6();
        if (!v4 && !v6) v4 = v6 = true;
        Status st = client.status();
        List<String> ips = st.tailscaleIps() == null ? List.of() : st.tailscaleIps();
        if (!a.args().isEmpty()) {
            String ip = LatticeCli.resolve(st, a.args().getFirst()).ip();
            PeerStatus peer = null;
            List<PeerStatus> all = new ArrayList<>(st.peer() == null ? List.of() : StatusFormat.sortedPeers(st));
            if (st.self() != null) all.add(st.self());
            for (PeerStatus ps : all) {
                if (ps.tailscaleIps() != null && ps.tailscaleIps().contains(ip)) {
                    peer = ps;
                    break;
                }
            }
            if (peer == null) throw new CliException("no peer or service found with IP " + ip);
            ips = peer.tailscaleIps();
        }
        if (ips.isEmpty()) throw new CliException("no current Lattice IPs; state: " + st.backendState());
        if (a.want1()) ips = ips.subList(0, 1);
        boolean match = false;
        for (String ip : ips) {
            boolean is6 = ip.contains(":");
            if (!is6 && v4 || is6 && v6) {
                match = true;
                out.println(ip);
            }
        }
        if (!match) {
            if (a.want4()) throw new CliException("no Lattice IPv4 address");
            if (a.want6()) throw new CliException("no Lattice IPv6 address");
        }
        return 0;
    }

    int ping(PingArgs p, LocalApiClient c) throws LocalApiException, CliException {
        if (p.count() < 0) throw new CliException("-c must not be negative");
        if (p.timeout().isNegative() || p.timeout().isZero()) throw new CliException("--timeout must be positive");
        Status st = c.status();
        String desc = StatusFormat.notRunningDescription(st);
        if (desc != null) {
            out.println(desc);
            return 1;
        }
        LatticeCli.Resolved r = LatticeCli.resolve(st, p.target());
        if (r.self()) {
            out.println(r.ip() + " is local Lattice IP");
            return 0;
        }
        if (p.verbose() && !r.ip().equals(p.target())) err.println("lookup \"" + p.target() + "\" => \"" + r.ip() + "\"");
        int n = 0;
        boolean anyPong = false;
        while (true) {
            n++;
            PingResult pr;
            try {
                pr = c.ping(r.ip(), p.timeout());
            } catch (LocalApiException e) {
                if (e.status() != 504) throw e;
                out.println("ping \"" + r.ip() + "\" timed out");
                out.flush();
                if (n == p.count()) {
                    if (!anyPong) throw new CliException("no reply");
                    return 0;
                }
                continue;
            }
            if (pr.err() != null && !pr.err().isEmpty()) throw new CliException(pr.err());
            Duration latency = GoDuration.round(Duration.ofNanos(Math.round(pr.latencySeconds() * 1e9)), Duration.ofMillis(1));
            String via = pr.derpRegionId() != 0 ? "DERP(" + StatusFormat.nz(pr.derpRegionCode()) + ")" : StatusFormat.nz(pr.endpoint());
            if (via.isEmpty()) via = "disco";
            anyPong = true;
            out.println("pong from " + StatusFormat.nz(pr.nodeName()) + " (" + StatusFormat.nz(pr.nodeIp()) + ") via " + via
                    + " in " + GoDuration.format(latency));
            out.flush();
            boolean direct = pr.endpoint() != null && !pr.endpoint().isEmpty();
            if (direct && p.untilDirect()) return 0;
            sleep(pingInterval);
            if (n == p.count()) {
                if (p.untilDirect()) throw new CliException("direct connection not established");
                return 0;
            }
        }
    }

    /**
     * tailscale's {@code up}: asks the daemon to log in with these settings, then waits for Running, printing the
     * login URL when a user must visit one, until {@code --timeout} (zero: forever).
     */
    int up(UpArgs a, LocalApiClient c) throws LocalApiException, CliException {
        if (!readsFiles && AuthKeyArg.isFile(a.authKey())) throw new CliException("--authkey=file: is read by the lattice CLI");
        String key = AuthKeyArg.resolve(a.authKey());
        List<String> tags = tags(a.advertiseTags());
        RouteFlags routes = a.routes();
        if (Boolean.TRUE.equals(routes.exitNodeAllowLanAccess()) && (routes.exitNode() == null || routes.exitNode().isEmpty())) {
            throw new CliException("--exit-node-allow-lan-access can only be used with --exit-node");
        }
        // The status (every peer, as JSON) only for an exit node named by address or name: on a large tailnet it is
        // the biggest thing an up asks for before logging in.
        Status st = routes.needsStatus() ? c.status() : null;
        Prefs cur = a.reset() ? Prefs.defaults() : c.prefs();
        MaskedPrefs mp = routes.change(st, cur);
        Prefs after = mp.applyTo(cur);
        if (mp.advertiseRoutes() != null) RouteFlags.warnOnAdvertiseRoutes(out, c, mp.advertiseRoutes());
        RouteFlags.warnNoSnatExitNode(out, after);
        UpRequest req = new UpRequest(a.loginServer(), key, a.hostname(), tags, a.acceptRoutes(), a.acceptDns(), a.reset(),
                mp.advertiseRoutes(), mp.setsExitNode() ? mp.exitNodeIp() : null, mp.exitNodeAllowLanAccess(),
                mp.shieldsUp(), mp.noSnat());
        // Monotonic: a wall-clock step must not end or extend the wait. It includes the daemon's own (tailscale's
        // timer runs from its Start call, which does not wait at all).
        long deadline = System.nanoTime() + a.timeout().toNanos();
        UpResult r = a.timeout().isZero() ? c.up(req) : c.up(req, a.timeout());
        BackendState state = r.state();
        String url = r.authUrl();
        String refused = r.errMessage();
        String lastPrinted = null;
        while (true) {
            // The control server's refusal is final (tailscale: fatalf("backend error: %v\n", n.ErrMessage)).
            if (refused != null) throw new CliException("backend error: " + refused);
            if (state == BackendState.Running) {
                if (lastPrinted != null) err.println("Success.");
                return 0;
            }
            // With an auth key a pending URL is from an earlier interactive attempt: not ours to show (tailscale #1755).
            if (url != null && !url.isEmpty() && key == null && !url.equals(lastPrinted)) {
                err.print("\nTo authenticate, visit:\n\n\t" + url + "\n\n");
                lastPrinted = url;
            }
            // Also how latticed learns that the CLI went away (Ctrl-C while waiting for a login): the flush throws.
            err.flush();
            if (!a.timeout().isZero() && System.nanoTime() - deadline >= 0) {
                throw new CliException("timeout waiting for Lattice service to enter a Running state; check health with \"lattice status\"");
            }
            sleep(upPollInterval);
            Status now = c.status();
            state = now.backendState();
            url = now.authUrl();
            if (state == BackendState.NeedsLogin) refused = LoginWarning.errorIn(now.health()).orElse(null);
        }
    }

    /** Comma-separated tags; "tag:" is added where omitted (tailscale does the same). */
    static List<String> tags(String v) throws CliException {
        if (v == null) return null;
        List<String> out = new ArrayList<>();
        for (String t : v.split(",", -1)) {
            t = t.strip();
            if (t.isEmpty()) {
                if (v.isBlank()) continue;
                throw new CliException("tag: empty tag in --advertise-tags=" + v);
            }
            if (!t.startsWith("tag:")) t = "tag:" + t;
            String name = t.substring(4);
            if (name.isEmpty() || !Character.isLetter(name.charAt(0)) || !name.chars().allMatch(
                    ch -> ch < 128 && (Character.isLetterOrDigit(ch) || ch == '-'))) {
                throw new CliException("tag names must start with a letter and contain only letters, numbers and dashes: \"" + t + "\"");
            }
            out.add(t);
        }
        return out;
    }

    private static void sleep(Duration d) throws CliException {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
    }
}
