package dev.lattice.agent.daemon;

import dev.lattice.systemd.SystemdNotify;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code latticed}: parses tailscaled-compatible flags and runs the daemon until SIGTERM/SIGINT. */
@Command(name = "latticed", mixinStandardHelpOptions = true, versionProvider = Latticed.Version.class,
        description = "The Lattice node agent: joins this host to a tailnet (tailscaled's role).")
public final class Latticed implements Callable<Integer> {
    @Option(names = "--statedir", description = "directory for keys and state (default: $LATTICE_STATE_DIR or /var/lib/lattice)",
            defaultValue = "${env:LATTICE_STATE_DIR:-/var/lib/lattice}")
    Path stateDir;

    @Option(names = "--state", description = "state file (default: STATEDIR/lattice.state)")
    Path stateFile;

    @Option(names = "--socket", description = "local API socket (default: $LATTICE_SOCKET or /var/run/lattice/latticed.sock)",
            defaultValue = "${env:LATTICE_SOCKET:-/var/run/lattice/latticed.sock}")
    Path socket;

    @Option(names = "--tun", description = "TUN interface name (default: ${DEFAULT-VALUE})", defaultValue = "lattice0")
    String tun;

    @Option(names = "--port", description = "UDP port for WireGuard and disco; 0 picks one (default: ${DEFAULT-VALUE})",
            defaultValue = "41641")
    int port;

    @Option(names = "--no-logs-no-support", description = "accepted for tailscaled compatibility; Lattice never uploads logs")
    boolean noLogs;

    @Option(names = "--verbose", description = "log verbosity: 0 info, 1+ debug")
    int verbose;

    @Option(names = "--funnel-listen", paramLabel = "ADDR",
            description = "run the Funnel ingress on this public TCP address (repeatable; e.g. :443): TLS is routed by its"
                    + " server name to the tailnet node that has Funnel on. Tag this node as control's funnel.ingress_tag.")
    java.util.List<String> funnelListen = new java.util.ArrayList<>();

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {LocalBackend.VERSION};
        }
    }

    public static int run(String... args) {
        if (args.length == 1 && args[0].equals(Warmup.ARG)) return training();
        Latticed quick = quickParse(System.getenv(), args);
        if (quick != null) {
            try {
                return quick.call();
            } catch (CommandLine.ParameterException e) {
                // the same checks under picocli, which prints them as usage errors
            } catch (Exception e) { // as picocli's execute() answers a failed call: the stack trace, exit code 1
                e.printStackTrace();
                return 1;
            }
        }
        return new CommandLine(new Latticed()).execute(args);
    }

    /**
     * The options of an ordinary start ({@code --name=value} or {@code --name value} of the options above), parsed
     * without picocli, or null for anything else (help, version, unknown or malformed options), which picocli then
     * parses and answers as before. picocli and its command model are ~200 classes (~1.5 MiB of class metadata and
     * AOT cache) that a running daemon never needs again; it stays for the command line's errors and help.
     * {@code LatticedArgsTest} checks that both parse every accepted command line alike.
     */
    static Latticed quickParse(Map<String, String> env, String... args) {
        String stateDirEnv = env.get("LATTICE_STATE_DIR");
        String socketEnv = env.get("LATTICE_SOCKET");
        if (stateDirEnv != null && stateDirEnv.isEmpty() || socketEnv != null && socketEnv.isEmpty()) return null;
        Latticed d = new Latticed();
        java.util.Set<String> seen = new java.util.HashSet<>();
        d.stateDir = Path.of(stateDirEnv != null ? stateDirEnv : "/var/lib/lattice");
        d.socket = Path.of(socketEnv != null ? socketEnv : "/var/run/lattice/latticed.sock");
        d.tun = "lattice0";
        d.port = 41641;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.startsWith("@")) return null; // an argument file: picocli's to expand
                if (a.equals("--no-logs-no-support")) {
                    if (!seen.add(a)) return null;
                    d.noLogs = true;
                    continue;
                }
                int eq = a.indexOf('=');
                String name = eq < 0 ? a : a.substring(0, eq);
                String value;
                if (eq >= 0) {
                    value = a.substring(eq + 1);
                } else if (i + 1 < args.length && !args[i + 1].startsWith("-")) {
                    value = args[++i];
                } else {
                    return null;
                }
                if (value.isEmpty() || value.startsWith("@")) return null;
                if (!name.equals("--funnel-listen") && !seen.add(name)) return null; // picocli refuses a repeat
                switch (name) {
                    case "--statedir" -> d.stateDir = Path.of(value);
                    case "--state" -> d.stateFile = Path.of(value);
                    case "--socket" -> d.socket = Path.of(value);
                    case "--tun" -> d.tun = value;
                    case "--port" -> d.port = Integer.parseInt(value);
                    case "--verbose" -> d.verbose = Integer.parseInt(value);
                    case "--funnel-listen" -> d.funnelListen.add(value);
                    default -> {
                        return null;
                    }
                }
            }
        } catch (RuntimeException e) { // a number or path that does not parse: picocli says what is wrong
            return null;
        }
        return d;
    }

    /**
     * The training run of latticed's AOT cache (JEP 483/514/515; see bin/latticed): parses a
     * command line as a start does, then runs {@link Warmup}, {@link ControlWarmup} and {@link DerpWarmup}, so the
     * classes of a start, of a first {@code up} and of the relay connection and netcheck after it come from the cache,
     * with their profiles. (Not the data path's loopback warm-up: its
     * profiles made the cache 2.3 MB larger, all of it resident in every latticed.)
     */
    static int training() {
        try {
            Latticed parsed = quickParse(Map.of(), "--statedir=/nonexistent", "--port=0");
            if (parsed == null || parsed.port != 0) return 1;
            Warmup.run();

            // The control login's network code (Netty's HTTP/1 and HTTP/2 client, the Noise records), on the
            // transport latticed uses; where that cannot be made (not root: no SO_MARK), the cache goes without.
            var sockets = dev.lattice.agent.system.AgentSystem.Sockets.linux();
            var group = new io.netty.channel.MultiThreadIoEventLoopGroup(1, sockets.ioHandler());
            try {
                ControlWarmup.run(group, sockets.dialer());
            } catch (Exception e) {
                org.slf4j.LoggerFactory.getLogger(Latticed.class).debug("training run: no control login: {}", e.toString());
            }
            // What follows a first up: the home relay's connection and a netcheck (training only: see DerpWarmup).
            try {
                DerpWarmup.run(group, sockets.dialer());
            } catch (Exception e) {
                org.slf4j.LoggerFactory.getLogger(Latticed.class).debug("training run: no DERP connection: {}", e.toString());
            } finally {
                group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).awaitUninterruptibly(2_000);
            }
            org.slf4j.LoggerFactory.getLogger(Latticed.class).debug("training run done");
            return 0;
        } catch (Exception e) {
            System.err.println("latticed: training run failed: " + e);
            return 1;
        }
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) throw new CommandLine.ParameterException(new CommandLine(this), "--port must be 0..65535");
        if (!tun.matches("[A-Za-z0-9._-]{1,15}")) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--tun must be an interface name of at most 15 characters");
        }
        if (verbose > 0) setDebug();
        Map<String, String> env = System.getenv();
        if (ContainerLogin.wantsUserspace(env)) {
            throw new CommandLine.ParameterException(new CommandLine(this), ContainerLogin.USERSPACE + " is set, but latticed"
                    + " has no userspace networking: give it /dev/net/tun and NET_ADMIN, and unset " + ContainerLogin.USERSPACE);
        }
        java.util.List<java.net.InetSocketAddress> funnel = new java.util.ArrayList<>();
        for (String a : funnelListen) funnel.add(listenAddress(a));
        ContainerLogin login = ContainerLogin.fromEnv(env);
        DaemonOptions o = new DaemonOptions(stateDir, stateFile != null ? stateFile : stateDir.resolve("lattice.state"),
                socket, tun, port);
        LocalBackend started;
        try {
            started = LocalBackend.start(o);
        } catch (java.io.IOException e) {
            System.err.println("latticed: " + e.getMessage());
            return 1;
        }
        dev.lattice.agent.funnel.FunnelIngress ingress = null;
        if (!funnel.isEmpty()) {
            try {
                var running = dev.lattice.agent.funnel.FunnelIngress.start(funnel, started::currentNetmap,
                        dev.lattice.agent.funnel.FunnelIngress.Options.defaults());
                ingress = running;
                started.addUserMetrics(m -> running.registerMetrics(m.registry()));
            } catch (java.io.IOException e) {
                System.err.println("latticed: " + e.getMessage());
                started.close();
                return 1;
            }
        }
        try (LocalBackend backend = started; dev.lattice.agent.funnel.FunnelIngress closeIngress = ingress) {
            // The local API answers once start() returns, so `lattice up` works: a Type=notify unit is ready.
            SystemdNotify systemd = SystemdNotify.fromEnvironment();
            systemd.ready("local API on " + socket);
            Thread hook = new Thread(() -> dev.lattice.systemd.StopDeadline.run(() -> {
                systemd.stopping();
                backend.close();
            }, org.slf4j.LoggerFactory.getLogger(Latticed.class)::warn), "latticed-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            if (login != null && !containerLogin(login)) {
                backend.close();
                return 1;
            }
            backend.awaitTermination();
        }
        return 0;
    }

    /**
     * Logs in as the environment says (container mode), with the CLI's own `up` against our socket. A refused login
     * ends the daemon (exit 1), as containerboot's does, so an orchestrator shows the reason and retries.
     */
    private boolean containerLogin(ContainerLogin login) {
        org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Latticed.class);
        log.info("container mode: lattice {}", login.describe(socket));
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        int code = dev.lattice.agent.cli.LatticeCli.run(login.cliArgs(socket).toArray(String[]::new),
                new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
        for (String line : (out + "" + err).split("\\R")) if (!line.isBlank()) log.info("container mode: {}", line);
        if (code != 0) log.error("container mode: lattice up failed (exit {}); stopping", code);
        return code == 0;
    }

    /** {@code host:port}, {@code [v6]:port} or {@code :port} (every address). */
    private java.net.InetSocketAddress listenAddress(String a) {
        int colon = a.lastIndexOf(':');
        try {
            if (colon < 0) throw new IllegalArgumentException();
            String host = a.substring(0, colon);
            int p = Integer.parseInt(a.substring(colon + 1));
            if (p < 1 || p > 65535) throw new IllegalArgumentException();
            if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
            if (host.isEmpty()) return new java.net.InetSocketAddress(p);
            return new java.net.InetSocketAddress(dev.lattice.wire.ip.IpPrefix.parseAddress(host), p);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(new CommandLine(this),
                    "--funnel-listen \"" + a + "\": want ADDRESS:PORT or :PORT (an IP address, not a name)");
        }
    }

    private static void setDebug() {
        org.slf4j.Logger root = org.slf4j.LoggerFactory.getLogger("dev.lattice");
        try { // latticed's own backend (lattice-dist's StderrLogger): a level by name
            root.getClass().getMethod("setLevel", String.class).invoke(root, "DEBUG");
            return;
        } catch (NoSuchMethodException e) {
            // logback, or another backend
        } catch (ReflectiveOperationException e) {
            return;
        }
        try {
            Class<?> level = Class.forName("ch.qos.logback.classic.Level");
            root.getClass().getMethod("setLevel", level).invoke(root, level.getField("DEBUG").get(null));
        } catch (ReflectiveOperationException e) {
            // not logback: leave the level alone
        }
    }
}
