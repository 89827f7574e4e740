package dev.lattice.agent.daemon;

import dev.lattice.systemd.SystemdNotify;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code latticed}: parses tailscaled-compatible flags and runs the daemon until SIGTERM/SIGINT. */
@Command(name = "latticed", mixinStandardHelpOptions = true, versionProvider = Latticed.Version.class,
        description = "The Lattice node agent: joins this host to a tailnet (tailscaled's role).")
public final class Latticed implements Callable<Integer> {
    @Option(names = "--statedir", description = "directory for keys and state (default: ${DEFAULT-VALUE})",
            defaultValue = "/var/lib/lattice")
    Path stateDir;

    @Option(names = "--state", description = "state file (default: STATEDIR/lattice.state)")
    Path stateFile;

    @Option(names = "--socket", description = "local API socket (default: ${DEFAULT-VALUE})",
            defaultValue = "/var/run/lattice/latticed.sock")
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

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {LocalBackend.VERSION};
        }
    }

    public static int run(String... args) {
        return new CommandLine(new Latticed()).execute(args);
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
        DaemonOptions o = new DaemonOptions(stateDir, stateFile != null ? stateFile : stateDir.resolve("lattice.state"),
                socket, tun, port);
        try (LocalBackend backend = LocalBackend.start(o)) {
            // The local API answers once start() returns, so `lattice up` works: a Type=notify unit is ready.
            SystemdNotify systemd = SystemdNotify.fromEnvironment();
            systemd.ready("local API on " + socket);
            Thread hook = new Thread(() -> {
                systemd.stopping();
                backend.close();
            }, "latticed-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            backend.awaitTermination();
        }
        return 0;
    }

    private static void setDebug() {
        org.slf4j.Logger root = org.slf4j.LoggerFactory.getLogger("dev.lattice");
        try {
            Class<?> level = Class.forName("ch.qos.logback.classic.Level");
            root.getClass().getMethod("setLevel", level).invoke(root, level.getField("DEBUG").get(null));
        } catch (ReflectiveOperationException e) {
            // not logback: leave the level alone
        }
    }
}
