package dev.lattice.agent.cli;

import dev.lattice.agent.cli.QuickArgs.IpArgs;
import dev.lattice.agent.cli.QuickArgs.PingArgs;
import dev.lattice.agent.cli.QuickArgs.StatusArgs;
import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.ipn.PeerStatus;
import dev.lattice.agent.ipn.PingResult;
import dev.lattice.agent.ipn.Status;
import dev.lattice.agent.localapi.CliRoute;
import dev.lattice.agent.localapi.LocalApiClient;
import dev.lattice.agent.localapi.LocalApiException;
import dev.lattice.agent.localapi.LocalApiJson;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The bodies of the quick commands ({@link QuickArgs}: {@code status}, {@code ip}, {@code ping}), written once:
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

    QuickCli(PrintWriter out, PrintWriter err) {
        this.out = out;
        this.err = err;
    }

    QuickCli(PrintWriter out, PrintWriter err, Clock clock, Duration pingInterval) {
        this(out, err);
        this.clock = clock;
        this.pingInterval = pingInterval;
    }

    /** The daemon's side of {@link CliRoute}: a command for {@code args}, or empty when they are not a quick command. */
    public static Optional<CliRoute.Command> accept(List<String> args) {
        return accept(args, Clock.systemDefaultZone(), Duration.ofSeconds(1));
    }

    /** As {@link #accept(List)} with a clock and a ping interval (tests). */
    static Optional<CliRoute.Command> accept(List<String> args, Clock clock, Duration pingInterval) {
        if (!(QuickArgs.parse(args) instanceof QuickArgs.Daemon d)) return Optional.empty();
        return Optional.of((client, out, err) -> {
            return new QuickCli(out, err, clock, pingInterval).run(d, client);
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

    private static void sleep(Duration d) throws CliException {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
    }
}
