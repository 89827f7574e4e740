package dev.lattice.dist;

import java.util.Arrays;

/**
 * Entry point of the single runnable jar. The bin/ launchers pass the role as the first argument
 * (e.g. {@code wg}), so one artifact serves every role.
 */
public final class Main {
    private Main() {}

    /**
     * lattice-control's CLI. Called by name because lattice-dist's pom does not depend on lattice-control yet; once it
     * does, this can become {@code dev.lattice.control.cli.ControlCli.run(args)}.
     */
    private static int control(String[] args) throws Exception {
        Class<?> cli;
        try {
            cli = Class.forName("dev.lattice.control.cli.ControlCli");
        } catch (ClassNotFoundException e) {
            System.err.println("this lattice.jar was built without lattice-control");
            return 1;
        }
        return (int) cli.getMethod("run", String[].class).invoke(null, (Object) args);
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: lattice.jar <role> [args...]   roles: wg, control");
            System.exit(2);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "wg" -> System.exit(dev.lattice.dist.WgCommand.run(rest));
            case "control" -> System.exit(control(rest));
            default -> {
                System.err.println("unknown role: " + args[0]);
                System.exit(2);
            }
        }
    }
}
