package dev.lattice.dist;

import java.util.Arrays;

/**
 * Entry point of the single runnable jar. The bin/ launchers pass the role as the first argument
 * (e.g. {@code wg}), so one artifact serves every role.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: lattice.jar <role> [args...]   roles: wg");
            System.exit(2);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "wg" -> System.exit(dev.lattice.dist.WgCommand.run(rest));
            default -> {
                System.err.println("unknown role: " + args[0]);
                System.exit(2);
            }
        }
    }
}
