package dev.lattice.dist;

import java.util.Arrays;

/**
 * Entry point of the single runnable jar. The bin/ launchers pass the role as the first argument
 * (e.g. {@code wg}), so one artifact serves every role.
 */
public final class Main {
    private Main() {}

    /**
     * latticed logs through {@link StderrLogProvider} rather than logback: the same lines, ~200 fewer classes in a
     * daemon that sits idle most of its life. Set before the first logger exists; a provider the user names wins.
     */
    static void useOwnLogging() {
        if (System.getProperty("slf4j.provider") != null) return;
        System.setProperty("slf4j.provider", StderrLogProvider.class.getName());
        // SLF4J says at INFO which provider it loads, on stderr; only its warnings are of use
        if (System.getProperty("slf4j.internal.verbosity") == null) System.setProperty("slf4j.internal.verbosity", "WARN");
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: lattice.jar <role> [args...]   roles: control, derper, latticed, lattice, wg");
            System.exit(2);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "wg" -> System.exit(dev.lattice.dist.WgCommand.run(rest));
            case "control" -> System.exit(dev.lattice.control.cli.ControlCli.run(rest));
            case "derper" -> System.exit(dev.lattice.derp.cli.DerperCommand.run(rest));
            case "latticed" -> {
                useOwnLogging();
                System.exit(dev.lattice.agent.daemon.Latticed.run(rest));
            }
            case "lattice" -> dev.lattice.agent.cli.CliMain.main(rest);
            default -> {
                System.err.println("unknown role: " + args[0]);
                System.exit(2);
            }
        }
    }
}
