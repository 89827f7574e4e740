package dev.lattice.control.cli;

import dev.lattice.control.config.ConfigException;
import dev.lattice.control.config.ControlConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code lattice-control [-c FILE] [-o json|json-line|yaml] [--force] <command>}: Headscale's CLI for Lattice.
 * {@code serve} runs the server; every other command is a request to the running server over its admin socket
 * ({@code unix_socket} in the config). Without {@code -c}, the config is {@code ./config.yaml}, then
 * {@code /etc/lattice/config.yaml}, then {@code /etc/headscale/config.yaml}, else the built-in defaults.
 *
 * <p>Every command answers {@code -h}/{@code --help} with its own options, and {@code help a b} shows the help of
 * {@code a b}. Exit codes: 0 on success (and for help), 1 when a command fails, 2 when the command line is wrong;
 * either error is one line on stderr.
 */
@Command(name = "lattice-control", mixinStandardHelpOptions = true, versionProvider = ControlCli.Version.class,
        description = "Lattice control server: a Headscale-compatible coordination server for Tailscale clients.",
        subcommands = {ServeCommand.class, UsersCommand.class, NodesCommand.class, PreAuthKeysCommand.class,
                ApiKeysCommand.class, AuthCommand.class, PolicyCommand.class, DebugCommand.class, MiscCommands.Generate.class,
                MiscCommands.ConfigTest.class, MiscCommands.Health.class, MiscCommands.Version.class, HelpCommand.class})
public final class ControlCli implements Callable<Integer> {
    /** Searched in order when {@code -c} is not given. */
    static List<Path> defaultConfigs = List.of(Path.of("config.yaml"), Path.of("/etc/lattice/config.yaml"),
            Path.of("/etc/headscale/config.yaml"));

    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "config file (default: ./config.yaml, /etc/lattice/config.yaml, /etc/headscale/config.yaml)")
    Path configFile;

    @Option(names = {"-o", "--output"}, scope = ScopeType.INHERIT, paramLabel = "FORMAT",
            description = "output format: empty for human-readable, json, json-line or yaml")
    String output = "";

    @Option(names = "--force", scope = ScopeType.INHERIT, description = "do not prompt for confirmation")
    boolean force;

    final PrintStream out;
    final PrintStream err;
    private final BufferedReader in;
    private ControlConfig config;

    private ControlCli(PrintStream out, PrintStream err, InputStream in) {
        this.out = out;
        this.err = err;
        this.in = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs one command line with the process's streams; returns the exit code. */
    public static int run(String[] args) {
        return run(args, System.out, System.err, System.in);
    }

    public static int run(String[] args, PrintStream out, PrintStream err, InputStream in) {
        Path serveConfig = plainServe(args);
        if (serveConfig != null) {
            // The server's own command line, without picocli: its ~190 classes and the whole command tree would
            // otherwise stay loaded for the server's life. Anything but these plain forms goes through picocli.
            ControlCli root = new ControlCli(out, err, in);
            if (!serveConfig.toString().isEmpty()) root.configFile = serveConfig;
            try {
                return ServeCommand.serve(root);
            } catch (Exception ex) {
                return failed(ex, "lattice-control serve", err);
            }
        }
        CommandLine cl = commandLine(out, err, in);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println(Usage.problem(ex));
            return Usage.EXIT;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> failed(ex, c.getCommandSpec().qualifiedName(), err));
        return cl.execute(args);
    }

    /**
     * {@code serve}, {@code serve -c FILE}, {@code -c FILE serve} (or {@code --config}): the config file, an empty
     * path for none; null for any other command line (help, other options, other commands).
     */
    static Path plainServe(String[] args) {
        if (args.length == 1 && args[0].equals("serve")) return Path.of("");
        if (args.length != 3) return null;
        int serve = args[0].equals("serve") ? 0 : args[2].equals("serve") ? 2 : -1;
        if (serve < 0) return null;
        int opt = serve == 0 ? 1 : 0;
        String file = args[opt + 1];
        if (!(args[opt].equals("-c") || args[opt].equals("--config")) || file.isEmpty() || file.startsWith("-")) return null;
        return Path.of(file);
    }

    /** A command that failed: one line on stderr, and its exit code. */
    private static int failed(Exception ex, String command, PrintStream err) {
        if (ex instanceof UsageException) {
            err.println(oneLine(ex.getMessage()) + " (see '" + command + " --help')");
            return Usage.EXIT;
        }
        if (ex instanceof CliException) {
            err.println(oneLine(ex.getMessage()));
        } else if (ex instanceof ConfigException) {
            err.println("config: " + oneLine(ex.getMessage()));
        } else {
            err.println("error: " + oneLine(String.valueOf(ex.getMessage())) + " (" + ex.getClass().getSimpleName() + ")");
        }
        return 1;
    }

    /** The whole command tree, each command with its own {@code -h, --help}. */
    static CommandLine commandLine(PrintStream out, PrintStream err, InputStream in) {
        CommandLine cl = new CommandLine(new ControlCli(out, err, in));
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        Usage.addHelpOptions(cl);
        return cl;
    }

    static String oneLine(String s) {
        return s == null ? "" : s.strip().replace("\r", "").replace("\n", "; ");
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(out);
        return 0;
    }

    /** The config named by {@code -c}, or the first of the default locations that exists, or the defaults. */
    ControlConfig config() {
        if (config != null) return config;
        if (configFile != null) {
            if (!Files.isRegularFile(configFile)) throw new CliException("config file " + configFile + " not found");
            config = ControlConfig.load(configFile);
        } else {
            config = defaultConfigs.stream().filter(Files::isRegularFile).findFirst().map(ControlConfig::load)
                    .orElseGet(ControlConfig::defaults);
        }
        return config;
    }

    AdminClient client() {
        return new AdminClient(config().unixSocket());
    }

    Output output() {
        return new Output(Output.parseFormat(output), out);
    }

    /** Asks on stderr; {@code --force} answers yes, end of input answers no (as Headscale's prompts). */
    boolean confirm(String prompt) {
        if (force) return true;
        err.print(prompt + " [y/N] ");
        err.flush();
        try {
            String line = in.readLine();
            return line != null && List.of("y", "yes").contains(line.strip().toLowerCase(Locale.ROOT));
        } catch (IOException e) {
            return false;
        }
    }

    /** How commands printed for the admin should name the config ({@code -c FILE} only when it was given). */
    String configArg() {
        return configFile == null ? "" : " -c " + configFile;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = ControlCli.class.getPackage().getImplementationVersion();
            return new String[] {"lattice-control " + (v == null ? "dev" : v)};
        }
    }

    /** Base of the subcommands: reaches the root's options and streams. */
    abstract static class Sub {
        @Spec
        CommandSpec spec;

        ControlCli root() {
            return (ControlCli) spec.root().userObject();
        }

        AdminClient client() {
            return root().client();
        }

        Output output() {
            return root().output();
        }
    }
}
