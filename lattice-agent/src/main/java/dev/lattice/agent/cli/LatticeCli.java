package dev.lattice.agent.cli;

import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.ipn.MaskedPrefs;
import dev.lattice.agent.ipn.PeerStatus;
import dev.lattice.agent.ipn.Status;
import dev.lattice.agent.ipn.WhoIsResponse;
import dev.lattice.agent.localapi.LocalApiClient;
import dev.lattice.agent.localapi.LocalApiException;
import dev.lattice.agent.localapi.LocalApiJson;
import dev.lattice.agent.localapi.LocalApiServer;
import dev.lattice.agent.state.Prefs;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code lattice}: tailscale's CLI commands over the local API. {@link #run} returns the exit code: 0 on success
 * and for {@code --help}/{@code -h} (every command has them, with its own options), 1 when a command fails (message
 * on stderr) or the backend is not running (state on stdout, like tailscale), 2 for usage errors, which are one line
 * on stderr naming the command and pointing at its help.
 */
@Command(name = "lattice", mixinStandardHelpOptions = true, versionProvider = LatticeCli.VersionProvider.class,
        description = "The Lattice node agent's command line (talks to latticed).",
        subcommands = {LatticeCli.Up.class, LatticeCli.Down.class, LatticeCli.SetCmd.class, LatticeCli.Logout.class,
            LatticeCli.StatusCmd.class, LatticeCli.Ping.class, LatticeCli.Netcheck.class, LatticeCli.Ip.class,
            LatticeCli.Whois.class, LatticeCli.ExitNode.class, LatticeCli.Cert.class, LatticeCli.Serve.class, LatticeCli.Funnel.class,
            LatticeCli.VersionCmd.class})
public final class LatticeCli implements Callable<Integer> {
    @Mixin
    SocketOption socketOption;

    PrintWriter out;
    PrintWriter err;
    Clock clock = Clock.systemDefaultZone();
    /** Between tailscale ping's pings (1s) and up's status polls; tests shorten them. */
    Duration pingInterval = Duration.ofSeconds(1);
    Duration upPollInterval = Duration.ofMillis(500);

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
        System.exit(run(args, out, err));
    }

    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return run(new LatticeCli(), args, out, err);
    }

    static int run(LatticeCli cli, String[] args, PrintWriter out, PrintWriter err) {
        cli.out = out;
        cli.err = err;
        CommandLine cl = new CommandLine(cli);
        cl.setOut(out).setErr(err);
        cl.setParameterExceptionHandler((ex, args2) -> {
            err.println(usageError(ex));
            err.flush();
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof UsageException u) {
                err.println(commandLine.getCommandSpec().qualifiedName() + ": " + u.getMessage());
                err.flush();
                return 2;
            }
            if (ex instanceof CliException || ex instanceof LocalApiException) {
                err.println(ex.getMessage());
                err.flush();
                return 1;
            }
            throw ex;
        });
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** The bodies of status, ip, ping and up, shared with latticed's quick path. */
    QuickCli commands() {
        return new QuickCli(out, err, clock, pingInterval, upPollInterval, true);
    }

    /** Bare {@code lattice}: its help, as bare {@code tailscale} prints it. */
    @Override
    public Integer call() {
        new CommandLine(this).usage(out);
        return 0;
    }

    /**
     * One line for a command line picocli could not parse: the command, what was wrong, where help is. Never
     * picocli's "Did you mean" guesses, which point at unrelated commands.
     */
    static String usageError(CommandLine.ParameterException ex) {
        String cmd = ex.getCommandLine().getCommandSpec().qualifiedName();
        String msg;
        List<String> unmatched = ex instanceof CommandLine.UnmatchedArgumentException u ? u.getUnmatched()
                : ex.getCommandLine().getUnmatchedArguments();
        if (!unmatched.isEmpty()) {
            String arg = unmatched.getFirst();
            boolean hasSubs = !ex.getCommandLine().getSubcommands().isEmpty();
            if (arg.startsWith("-")) msg = "unknown flag: " + arg;
            else if (hasSubs) msg = "unknown subcommand: " + arg;
            else msg = "unexpected argument: " + arg;
        } else {
            String m = ex.getMessage() == null ? "invalid arguments" : ex.getMessage();
            msg = m.lines().findFirst().orElse(m);
        }
        return cmd + ": " + msg + " (see '" + cmd + " --help')";
    }

    /** A usage problem found after parsing (exit 2, one line). */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /** {@code -h}/{@code --help} on every command. */
    static final class HelpOption {
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this command's help and exit")
        boolean help;
    }

    /** {@code --socket=PATH}, accepted before or after the subcommand name. */
    static final class SocketOption {
        @Option(names = "--socket", paramLabel = "PATH", description = "path to latticed's local API socket (default: /var/run/lattice/latticed.sock)")
        Path socket;
    }

    /** The parts every subcommand shares. */
    abstract static class Sub implements Callable<Integer> {
        /** {@link LatticeCli}, or the {@link Sub} this one is a subcommand of. */
        @ParentCommand
        Object parent;

        @Mixin
        SocketOption socketOption;

        @Mixin
        HelpOption helpOption;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        LatticeCli root() {
            return parent instanceof Sub s ? s.root() : (LatticeCli) parent;
        }

        /** {@code --socket} given here, else on a parent command, else the default. */
        Path socket() {
            if (socketOption.socket != null) return socketOption.socket;
            if (parent instanceof Sub s) return s.socket();
            LatticeCli r = (LatticeCli) parent;
            return r.socketOption.socket != null ? r.socketOption.socket : LocalApiServer.DEFAULT_SOCKET;
        }

        LocalApiClient client() {
            return new LocalApiClient(socket());
        }

        PrintWriter out() {
            return root().out;
        }

        PrintWriter err() {
            return root().err;
        }

        /** tailscale's warnf: "Warning: ..." on stdout. */
        void warn(String message) {
            RouteFlags.warn(out(), message);
        }

        /** tailscale's warnOnAdvertiseRoutes: the daemon's IP forwarding check of the routes about to be offered. */
        void warnOnAdvertiseRoutes(LocalApiClient c, List<String> routes) throws LocalApiException {
            RouteFlags.warnOnAdvertiseRoutes(out(), c, routes);
        }

        static void sleep(Duration d) throws CliException {
            try {
                Thread.sleep(d);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException("interrupted");
            }
        }
    }

    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return GoDuration.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    @Command(name = "up", description = "Connect to Lattice, logging in if needed")
    static final class Up extends Sub {
        @Option(names = "--login-server", paramLabel = "URL", description = "base URL of control server")
        String loginServer;

        @Option(names = {"--authkey", "--auth-key"}, paramLabel = "KEY",
                description = "node authorization key; if it begins with \"file:\", then it's a path to a file containing the authkey")
        String authKey;

        @Option(names = "--hostname", description = "hostname to use instead of the one provided by the OS")
        String hostname;

        @Option(names = "--advertise-tags", paramLabel = "TAGS",
                description = "comma-separated ACL tags to request (e.g. \"tag:eng,tag:montreal\"); the \"tag:\" prefix is optional")
        String advertiseTags;

        @Option(names = "--accept-routes", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
                description = "accept routes advertised by other nodes")
        Boolean acceptRoutes;

        @Option(names = "--accept-dns", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
                description = "accept DNS configuration from the control server (default true)")
        Boolean acceptDns;

        @Mixin
        RouteOptions routes;

        @Option(names = "--reset", description = "reset unspecified settings to their default values")
        boolean reset;

        @Option(names = "--timeout", converter = DurationConverter.class, defaultValue = "0s",
                description = "maximum amount of time to wait for latticed to enter a Running state; default (0s) blocks forever")
        Duration timeout;

        @Override
        public Integer call() throws Exception {
            QuickArgs.UpArgs a = new QuickArgs.UpArgs(socket(), loginServer, authKey, hostname, advertiseTags, acceptRoutes,
                    acceptDns, reset, timeout, routes.flags());
            return root().commands().up(a, client());
        }
    }

    /** The routing flags {@code up} and {@code set} share (tailscale's names and help texts). */
    static final class RouteOptions {
        @Option(names = "--advertise-routes", paramLabel = "ROUTES",
                description = "routes to advertise to other nodes (comma-separated, e.g. \"10.0.0.0/8,192.168.0.0/24\") or empty string to not advertise routes")
        String advertiseRoutes;

        @Option(names = "--advertise-exit-node", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
                description = "offer to be an exit node for internet traffic for the tailnet")
        Boolean advertiseExitNode;

        @Option(names = "--exit-node", paramLabel = "IP|NAME",
                description = "Lattice exit node (IP or base name) for internet traffic, or empty string to not use an exit node")
        String exitNode;

        @Option(names = "--exit-node-allow-lan-access", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
                description = "allow direct access to the local network when routing traffic via an exit node")
        Boolean exitNodeAllowLanAccess;

        @Option(names = "--shields-up", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
                description = "don't allow incoming connections")
        Boolean shieldsUp;

        @Option(names = "--snat-subnet-routes", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
                description = "source NAT traffic to local routes advertised with --advertise-routes (default true)")
        Boolean snatSubnetRoutes;

        RouteFlags flags() {
            return new RouteFlags(advertiseRoutes, advertiseExitNode, exitNode, exitNodeAllowLanAccess, shieldsUp, snatSubnetRoutes);
        }
    }

    @Command(name = "set", description = "Change specified preferences",
            footer = {"", "Unlike \"lattice up\", this command does not require the complete set of desired settings.", "",
                "Only settings explicitly mentioned will be set. There are no default values."})
    static final class SetCmd extends Sub {
        @Option(names = "--accept-routes", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
                description = "accept routes advertised by other Lattice nodes")
        Boolean acceptRoutes;

        @Option(names = "--accept-dns", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
                description = "accept DNS configuration from the control server")
        Boolean acceptDns;

        @Option(names = "--hostname", description = "hostname to use instead of the one provided by the OS")
        String hostname;

        @Mixin
        RouteOptions routes;

        @Parameters(arity = "0..*", hidden = true)
        List<String> args = List.of();

        @Override
        public Integer call() throws Exception {
            if (!args.isEmpty()) throw new UsageException("too many non-flag arguments: " + goQuote(args));
            LocalApiClient c = client();
            Status st = c.status();
            Prefs cur = c.prefs();
            MaskedPrefs mp = routes.flags().change(st, cur);
            if (acceptRoutes != null) mp = mp.withAcceptRoutes(acceptRoutes);
            if (acceptDns != null) mp = mp.withAcceptDns(acceptDns);
            if (hostname != null) mp = mp.withHostname(hostname);
            if (mp.isEmpty()) {
                // tailscale: flag.ErrHelp, the command's help and exit 0.
                spec.commandLine().usage(out());
                return 0;
            }
            if (mp.advertiseRoutes() != null) warnOnAdvertiseRoutes(c, mp.advertiseRoutes());
            RouteFlags.warnNoSnatExitNode(out(), mp.applyTo(cur));
            c.editPrefs(mp);
            return 0;
        }
    }

    /** Go's %q of a []string: ["a" "b"]. */
    static String goQuote(List<String> l) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < l.size(); i++) {
            if (i > 0) sb.append(' ');
            sb.append('"').append(l.get(i).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return sb.append(']').toString();
    }

    @Command(name = "exit-node", description = "Show machines on your tailnet configured as exit nodes",
            subcommands = {ExitNode.ListCmd.class})
    static final class ExitNode extends Sub {
        @Override
        public Integer call() throws Exception {
            throw new UsageException("missing subcommand: list");
        }

        @Command(name = "list", description = "Show exit nodes")
        static final class ListCmd extends Sub {
            @Option(names = "--filter", defaultValue = "", description = "filter exit nodes by country")
            String filter;

            @Parameters(arity = "0..*", hidden = true)
            List<String> args = List.of();

            @Override
            public Integer call() throws Exception {
                if (!args.isEmpty()) throw new CliException("unexpected non-flag arguments to 'lattice exit-node list'");
                Status st = client().status();
                List<PeerStatus> exits = new ArrayList<>();
                if (st.peer() != null) for (PeerStatus ps : st.peer().values()) if (ps.exitNodeOption()) exits.add(ps);
                if (exits.isEmpty()) throw new CliException("no exit nodes found");
                // Peers carry no location here: with a filter (a country) nothing matches, as tailscale's
                // location-less nodes never match one.
                if (!filter.isEmpty()) throw new CliException("no exit nodes found for \"" + filter + "\"");
                out().print(StatusFormat.exitNodeList(exits, root().clock.instant()));
                return 0;
            }
        }
    }

    @Command(name = "down", description = "Disconnect from Lattice")
    static final class Down extends Sub {
        @Override
        public Integer call() throws Exception {
            LocalApiClient c = client();
            Status st;
            try {
                st = c.status();
            } catch (LocalApiException e) {
                if (e.notRunning()) throw e;
                throw new CliException("error fetching current status: " + e.getMessage());
            }
            if (st.backendState() == BackendState.Stopped) {
                err().println("Lattice was already stopped.");
                return 0;
            }
            c.down();
            return 0;
        }
    }

    @Command(name = "logout", description = "Disconnect from Lattice and expire current node key")
    static final class Logout extends Sub {
        @Override
        public Integer call() throws Exception {
            client().logout();
            return 0;
        }
    }

    @Command(name = "status", description = "Show state of latticed and its connections")
    static final class StatusCmd extends Sub {
        @Option(names = "--json", description = "output in JSON format (WARNING: format subject to change)")
        boolean json;

        @Option(names = "--active", description = "filter output to only peers with active sessions")
        boolean active;

        @Option(names = "--self", arity = "0..1", fallbackValue = "true", defaultValue = "true", description = "show status of local machine")
        boolean self;

        @Option(names = "--peers", arity = "0..1", fallbackValue = "true", defaultValue = "true", description = "show status of peers")
        boolean peers;

        @Option(names = "--header", description = "show column headers in table format")
        boolean header;

        @Override
        public Integer call() throws Exception {
            return root().commands().status(new QuickArgs.StatusArgs(socket(), json, self, peers, header, active), client());
        }
    }

    /** tailscaleIPFromArg: an IP as is, else a peer (or self) by MagicDNS base name or full DNS name. */
    record Resolved(String ip, boolean self) {}

    static Resolved resolve(Status st, String hostOrIp) throws CliException {
        if (looksLikeIp(hostOrIp)) return new Resolved(hostOrIp, false);
        if (st.peer() != null) {
            for (PeerStatus ps : StatusFormat.sortedPeers(st)) {
                if (matches(st, ps, hostOrIp)) {
                    if (ps.tailscaleIps() == null || ps.tailscaleIps().isEmpty()) throw new CliException("node found but lacks an IP");
                    return new Resolved(ps.tailscaleIps().getFirst(), false);
                }
            }
        }
        if (st.self() != null && matches(st, st.self(), hostOrIp) && st.self().tailscaleIps() != null
                && !st.self().tailscaleIps().isEmpty()) {
            return new Resolved(st.self().tailscaleIps().getFirst(), true);
        }
        // tailscale falls back to the system resolver here; we stay off the network and say what we know.
        throw new CliException("error looking up IP of \"" + hostOrIp + "\": no such peer in the tailnet");
    }

    private static boolean matches(Status st, PeerStatus ps, String hostOrIp) {
        return hostOrIp.equalsIgnoreCase(StatusFormat.dnsOrQuoteHostname(st, ps)) || hostOrIp.equals(ps.dnsName());
    }

    static boolean looksLikeIp(String s) {
        if (s.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            for (String p : s.split("\\.")) {
                if (Integer.parseInt(p) > 255) return false;
            }
            return true;
        }
        if (!s.contains(":") || !s.matches("[0-9a-fA-F:.]+")) return false;
        try {
            java.net.InetAddress.getByName(s); // a literal: no lookup happens for this charset
            return true;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    @Command(name = "ping", description = "Ping a host at the Lattice layer, see how it routed")
    static final class Ping extends Sub {
        @Option(names = "-c", defaultValue = "10", description = "max number of pings to send. 0 for infinity.")
        int count;

        @Option(names = "--timeout", converter = DurationConverter.class, defaultValue = "5s", description = "timeout before giving up on a ping")
        Duration timeout;

        @Option(names = "--until-direct", arity = "0..1", fallbackValue = "true", defaultValue = "true",
                description = "stop once a direct path is established")
        boolean untilDirect;

        @Option(names = "--verbose", description = "verbose output")
        boolean verbose;

        @Parameters(arity = "1", paramLabel = "hostname-or-IP")
        String target;

        @Override
        public Integer call() throws Exception {
            return root().commands().ping(new QuickArgs.PingArgs(socket(), count, timeout, untilDirect, verbose, target), client());
        }
    }

    @Command(name = "netcheck", description = "Print an analysis of local network conditions")
    static final class Netcheck extends Sub {
        @Option(names = "--format", defaultValue = "", description = "output format; empty (for human-readable), \"json\" or \"json-line\"")
        String format;

        @Option(names = "--verbose", description = "verbose logs")
        boolean verbose;

        @Override
        public Integer call() throws Exception {
            if (!format.isEmpty() && !format.equals("json") && !format.equals("json-line")) {
                throw new CliException("unknown output format \"" + format + "\"");
            }
            LocalApiClient c = client();
            var report = c.netcheck();
            switch (format) {
                case "json" -> out().print(LocalApiJson.indented(report) + "\n");
                case "json-line" -> out().print(LocalApiJson.mapper().writeValueAsString(report) + "\n");
                default -> out().print(NetcheckFormat.report(report, c.derpMap(), ZonedDateTime.now(root().clock), verbose));
            }
            return 0;
        }
    }

    @Command(name = "ip", description = "Show Lattice IP addresses")
    static final class Ip extends Sub {
        @Option(names = "-4", description = "only print IPv4 address")
        boolean want4;

        @Option(names = "-6", description = "only print IPv6 address")
        boolean want6;

        @Option(names = "-1", description = "only print one IP address")
        boolean want1;

        @Parameters(arity = "0..*", paramLabel = "peer")
        List<String> args = List.of();

        @Override
        public Integer call() throws Exception {
            return root().commands().ip(new QuickArgs.IpArgs(socket(), want4, want6, want1, args), client());
        }
    }

    @Command(name = "cert", description = "Get TLS certs for the node's MagicDNS name from an ACME CA")
    static final class Cert extends Sub {
        @Option(names = "--cert-file", paramLabel = "FILE",
                description = "output cert file or \"-\" for stdout; defaults to DOMAIN.crt if --cert-file and --key-file are both unset")
        String certFile = "";

        @Option(names = "--key-file", paramLabel = "FILE",
                description = "output key file or \"-\" for stdout; defaults to DOMAIN.key if --cert-file and --key-file are both unset")
        String keyFile = "";

        @Parameters(arity = "0..*", paramLabel = "domain")
        List<String> args = List.of();

        @Override
        public Integer call() throws Exception {
            if (args.isEmpty()) {
                Status st = client().status();
                List<String> domains = st.certDomains() == null ? List.of() : st.certDomains();
                throw new UsageException("missing domain argument" + (domains.size() == 1
                        ? "; use \"" + domains.getFirst() + "\"" : domains.isEmpty() ? "" : "; one of " + domains));
            }
            if (args.size() > 1) throw new UsageException("too many arguments, expected one domain");
            String domain = args.getFirst();
            if (certFile.isEmpty() && keyFile.isEmpty()) {
                certFile = domain + ".crt";
                keyFile = domain + ".key";
            }
            String pair = client().certPair(domain);
            int split = pair.indexOf("-----BEGIN CERTIFICATE-----");
            if (split < 0) throw new CliException("latticed answered without a certificate");
            String keyPem = pair.substring(0, split);
            String certPem = pair.substring(split);
            if (!certFile.isEmpty()) {
                if (certFile.equals("-")) {
                    out().print(certPem);
                } else if (writeIfChanged(Path.of(certFile), certPem, "rw-r--r--")) {
                    out().print("Wrote public cert to " + certFile + "\n");
                } else {
                    out().print("Public cert unchanged at " + certFile + "\n");
                }
            }
            if (!keyFile.isEmpty()) {
                if (keyFile.equals("-")) {
                    out().print(keyPem);
                } else if (writeIfChanged(Path.of(keyFile), keyPem, "rw-------")) {
                    out().print("Wrote private key to " + keyFile + "\n");
                } else {
                    out().print("Private key unchanged at " + keyFile + "\n");
                }
            }
            return 0;
        }

        /** As tailscale's writeIfChanged: the file is created with {@code mode}, and left alone when identical. */
        static boolean writeIfChanged(Path f, String content, String mode) throws IOException {
            if (Files.exists(f) && Files.readString(f).equals(content)) return false;
            dev.lattice.agent.state.AtomicFile.write(f, content.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    java.nio.file.attribute.PosixFilePermissions.fromString(mode));
            return true;
        }
    }

    @Command(name = "serve", description = "Serve content and local servers on your tailnet",
            subcommands = {Serve.StatusCmd.class, Serve.Reset.class},
            footer = {"", "<target> is a port, localhost:PORT, http://127.0.0.1:PORT[/path], text:TEXT or an absolute directory",
                "(for --tcp and --tls-terminated-tcp: a port or localhost:PORT). Add \"off\" after the flags to stop serving it.",
                "Examples:", "  lattice serve --bg 3000", "  lattice serve --bg --http=80 text:hello",
                "  lattice serve --bg --tcp=5432 5432", "  lattice serve --https=443 off"})
    static class Serve extends Sub {
        /** {@code lattice funnel}: the same, served to the internet through the tailnet's Funnel ingress. */
        boolean funnel() {
            return false;
        }

        @Option(names = "--bg", description = "run the command as a background process (default false)")
        boolean bg;

        @Option(names = "--https", paramLabel = "PORT", description = "expose an HTTPS server at the specified port (default mode; 443)")
        Integer https;

        @Option(names = "--http", paramLabel = "PORT", description = "expose an HTTP server at the specified port")
        Integer http;

        @Option(names = "--tcp", paramLabel = "PORT", description = "expose a TCP forwarder to forward raw TCP packets at the specified port")
        Integer tcp;

        @Option(names = "--tls-terminated-tcp", paramLabel = "PORT",
                description = "expose a TCP forwarder to forward TLS-terminated TCP packets at the specified port")
        Integer tlsTcp;

        @Option(names = "--set-path", paramLabel = "PATH", description = "appends the specified path to the base URL for accessing the underlying service")
        String setPath = "/";

        @Option(names = "--accept-app-caps", paramLabel = "CAPS",
                description = "App capabilities to forward to the server (specify multiple capabilities with a comma-separated list)")
        List<String> acceptAppCaps = List.of();

        @Parameters(arity = "0..2", paramLabel = "<target>")
        List<String> args = List.of();

        @Override
        public Integer call() throws Exception {
            String sub = funnel() ? "funnel" : "serve";
            if (args.isEmpty()) throw new UsageException("missing target (see 'lattice " + sub + " --help')");
            if (funnel() && http != null) throw new UsageException("Funnel serves HTTPS, TCP or TLS-terminated TCP, not --http");
            int flags = (https != null ? 1 : 0) + (http != null ? 1 : 0) + (tcp != null ? 1 : 0) + (tlsTcp != null ? 1 : 0);
            if (flags > 1) throw new UsageException("only one of --https, --http, --tcp or --tls-terminated-tcp can be given");
            dev.lattice.agent.serve.ServeEdit.Kind kind;
            int port;
            if (http != null) { kind = dev.lattice.agent.serve.ServeEdit.Kind.HTTP; port = http; }
            else if (tcp != null) { kind = dev.lattice.agent.serve.ServeEdit.Kind.TCP; port = tcp; }
            else if (tlsTcp != null) { kind = dev.lattice.agent.serve.ServeEdit.Kind.TLS_TERMINATED_TCP; port = tlsTcp; }
            else { kind = dev.lattice.agent.serve.ServeEdit.Kind.HTTPS; port = https == null ? 443 : https; }
            if (port < 1 || port > 65535) throw new UsageException("invalid port " + port);
            boolean off = args.getLast().equals("off");
            if (args.size() == 2 && !off) throw new UsageException("too many arguments; want one target, or \"off\"");
            List<String> caps;
            try {
                caps = dev.lattice.agent.serve.ServeEdit.appCaps(acceptAppCaps);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            LocalApiClient c = client();
            String host = dnsName(c);
            var cur = c.serveConfig();
            dev.lattice.agent.serve.ServeConfig next;
            try {
                next = off ? dev.lattice.agent.serve.ServeEdit.remove(cur.config(), host, kind, port, setPath)
                        : dev.lattice.agent.serve.ServeEdit.add(cur.config(), host, kind, port, setPath, args.getFirst());
                if (!off && !caps.isEmpty()) {
                    next = dev.lattice.agent.serve.ServeEdit.withAppCaps(next, host, port, setPath.startsWith("/") ? setPath : "/" + setPath, caps);
                }
            } catch (IllegalArgumentException e) {
                throw new CliException(e.getMessage());
            }
            if (!off) {
                // tailscale's applyFunnel: serve on a funneled port takes Funnel away, funnel turns it on
                if (!funnel() && Boolean.TRUE.equals(next.allowFunnel().get(host + ":" + port))) {
                    err().println("Removing Funnel for " + host + ":" + host + ":" + port);
                    err().flush();
                }
                next = dev.lattice.agent.serve.ServeEdit.setFunnel(next, host, port, funnel());
            }
            c.setServeConfig(next, cur.etag());
            if (off) return 0;
            boolean web = kind == dev.lattice.agent.serve.ServeEdit.Kind.HTTPS || kind == dev.lattice.agent.serve.ServeEdit.Kind.HTTP;
            out().println(funnel() ? "Available on the internet:" : "Available within your tailnet:");
            out().println();
            if (web) {
                String base = dev.lattice.agent.serve.ServeEdit.url(host, port, kind == dev.lattice.agent.serve.ServeEdit.Kind.HTTPS);
                var h = next.web().get(host + ":" + port).handlers().get(setPath.startsWith("/") ? setPath : "/" + setPath);
                out().println(base + (setPath.equals("/") ? "/" : setPath));
                out().println("|-- " + (h.proxy() != null ? "proxy " + h.proxy() : h.text() != null ? "text \"" + h.text() + "\"" : "path " + h.path()));
            } else {
                out().println("|-- tcp://" + host + ":" + port);
                out().println("|--> tcp://" + next.tcp().get(port).tcpForward());
            }
            out().println();
            String offCmd = "lattice " + sub + " --" + kind.flag() + "=" + port + (setPath.equals("/") ? "" : " --set-path=" + setPath) + " off";
            if (bg) {
                out().println((funnel() ? "Funnel" : "Serve") + " started and running in the background.");
                out().println("To disable the proxy, run: " + offCmd);
                out().flush();
                return 0;
            }
            // Foreground, as tailscale's: serve until interrupted, then take it away again.
            out().println("Press Ctrl+C to exit.");
            out().flush();
            final int p = port;
            final var k = kind;
            Thread undo = new Thread(() -> {
                try {
                    var now = c.serveConfig();
                    var removed = dev.lattice.agent.serve.ServeEdit.remove(now.config(), host, k, p, setPath);
                    c.setServeConfig(dev.lattice.agent.serve.ServeEdit.setFunnel(removed, host, p, false), now.etag());
                } catch (LocalApiException | IllegalArgumentException e) {
                    err().println("could not remove the serve config: " + e.getMessage());
                    err().flush();
                }
            });
            Runtime.getRuntime().addShutdownHook(undo);
            Thread.currentThread().join();
            return 0;
        }

        /** The node's MagicDNS name without its trailing dot, which web handlers are keyed by. */
        static String dnsName(LocalApiClient c) throws LocalApiException, CliException {
            Status st = c.status();
            String n = st.self() == null ? null : st.self().dnsName();
            if (n == null || n.isEmpty()) throw new CliException("this node has no MagicDNS name yet (is latticed logged in? see 'lattice status')");
            return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
        }

        @Command(name = "status", description = "View current serve configuration")
        static final class StatusCmd extends Sub {
            @Option(names = "--json", description = "output JSON")
            boolean json;

            @Override
            public Integer call() throws Exception {
                var cur = client().serveConfig().config();
                if (json) {
                    out().println(cur.isEmpty() ? "{}" : LocalApiJson.indented(LocalApiJson.mapper().readTree(cur.toJson())));
                } else {
                    // tailscale's runServeStatus: the Funnel section, the trees, then warnings on stderr
                    out().print(StatusFormat.funnel(cur));
                    if (cur.tcp().isEmpty() && cur.web().isEmpty()) {
                        out().print("No serve config\n");
                    } else {
                        Status st = client().status();
                        String dns = st.self() == null ? null : st.self().dnsName();
                        out().print(dev.lattice.agent.serve.ServeEdit.status(cur, dns,
                                st.tailscaleIps() == null ? List.of() : st.tailscaleIps()));
                        String warn = dev.lattice.agent.serve.ServeEdit.funnelWarning(cur);
                        if (!warn.isEmpty()) {
                            err().print(warn);
                            err().flush();
                        }
                    }
                }
                out().flush();
                return 0;
            }
        }

        @Command(name = "reset", description = "Reset current serve config")
        static final class Reset extends Sub {
            @Override
            public Integer call() throws Exception {
                client().setServeConfig(dev.lattice.agent.serve.ServeConfig.EMPTY, "");
                return 0;
            }
        }
    }

    @Command(name = "funnel", description = "Serve content and local servers on the internet",
            footer = {"", "Funnel is Serve reachable from the internet: through the tailnet's Funnel ingress, with TLS ending",
                "on this node. It needs the \"funnel\" node attribute from the policy's nodeAttrs, and a port the control",
                "server allows (443, 8443 and 10000 by default).",
                "<target> is a port, localhost:PORT, http://127.0.0.1:PORT[/path], text:TEXT or an absolute directory.",
                "Add \"off\" after the flags to stop serving it.",
                "Examples:", "  lattice funnel --bg 3000", "  lattice funnel --bg --https=8443 text:hello",
                "  lattice funnel --https=443 off"})
    static final class Funnel extends Serve {
        @Override
        boolean funnel() {
            return true;
        }
    }

    @Command(name = "whois", description = "Show the machine and user associated with a Lattice IP (v4 or v6)")
    static final class Whois extends Sub {
        @Option(names = "--json", description = "output in JSON format")
        boolean json;

        @Parameters(arity = "0..*", paramLabel = "ip[:port]")
        List<String> args = List.of();

        @Override
        public Integer call() throws Exception {
            if (args.size() > 1) throw new CliException("too many arguments, expected at most one peer");
            if (args.isEmpty()) throw new CliException("missing argument, expected one peer");
            WhoIsResponse who = client().whois(args.getFirst());
            if (json) {
                out().print(LocalApiJson.indented(who) + "\n");
                return 0;
            }
            out().print(whoisText(who));
            return 0;
        }

        static String whoisText(WhoIsResponse who) {
            PeerStatus n = who.node();
            StringBuilder w = new StringBuilder("Machine:\n");
            String name = StatusFormat.nz(n.dnsName());
            if (name.endsWith(".")) name = name.substring(0, name.length() - 1);
            w.append("  Name:\t").append(name).append('\n');
            w.append("  ID:\t").append(StatusFormat.nz(n.id())).append('\n');
            List<String> addrs = new ArrayList<>();
            if (n.tailscaleIps() != null) {
                for (String ip : n.tailscaleIps()) addrs.add(ip.contains("/") ? ip : ip + (ip.contains(":") ? "/128" : "/32"));
            }
            w.append("  Addresses:\t").append(goList(addrs)).append('\n');
            if (n.allowedIps() != null && n.allowedIps().size() > 2) {
                w.append("  AllowedIPs:\t").append(goList(n.allowedIps().subList(2, n.allowedIps().size()))).append('\n');
            }
            if (n.tags() != null && !n.tags().isEmpty()) {
                w.append("  Tags:\t").append(String.join(", ", n.tags())).append('\n');
            } else {
                w.append("User:\n");
                var u = who.userProfile();
                w.append("  Name:\t").append(u == null ? "" : StatusFormat.nz(u.loginName())).append('\n');
                w.append("  ID:\t").append(u == null ? 0 : u.id()).append('\n');
            }
            return new TabWriter(10, 5).format(w.toString());
        }

        private static String goList(List<String> l) {
            return "[" + String.join(" ", l) + "]";
        }
    }

    @Command(name = "version", description = "Print Lattice version")
    static final class VersionCmd extends Sub {
        @Option(names = "--daemon", description = "also print local node's daemon version")
        boolean daemon;

        @Override
        public Integer call() throws Exception {
            if (!daemon) {
                out().println(clientVersion());
                return 0;
            }
            String d = client().version();
            out().println("Client: " + clientVersion());
            out().println("Daemon: " + d);
            return 0;
        }
    }

    static String clientVersion() {
        return CliMain.clientVersion();
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {clientVersion()};
        }
    }

    /** Runs the CLI capturing its output (tests and the lead's end-to-end checks). */
    public record Result(int code, String out, String err) {}

    public static Result capture(String... args) {
        return capture(new LatticeCli(), args);
    }

    static Result capture(LatticeCli cli, String... args) {
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        int code = run(cli, args, new PrintWriter(o), new PrintWriter(e));
        return new Result(code, o.toString(), e.toString());
    }
}
