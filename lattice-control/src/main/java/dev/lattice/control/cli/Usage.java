package dev.lattice.control.cli;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/** How the command tree answers for help and for wrong usage: {@code -h/--help} everywhere, one-line errors, exit 2. */
final class Usage {
    /** Exit code of a wrong command line (as Go's flag package and most Unix tools). */
    static final int EXIT = 2;

    private Usage() {}

    /** Gives every command of the tree its own {@code -h, --help}, so {@code serve --help} shows serve's options. */
    static void addHelpOptions(CommandLine root) {
        for (CommandLine c : tree(root)) {
            CommandSpec spec = c.getCommandSpec();
            if (spec.options().stream().noneMatch(OptionSpec::usageHelp)) {
                spec.addOption(OptionSpec.builder("-h", "--help").usageHelp(true)
                        .description("Show this help message and exit.").build());
            }
        }
    }

    /** Every command of the tree once, parents before children, in declaration order (aliases skipped). */
    static List<CommandLine> tree(CommandLine root) {
        List<CommandLine> out = new ArrayList<>();
        Map<CommandLine, Boolean> seen = new IdentityHashMap<>();
        walk(root, out, seen);
        return out;
    }

    private static void walk(CommandLine c, List<CommandLine> out, Map<CommandLine, Boolean> seen) {
        if (seen.put(c, Boolean.TRUE) != null) return;
        out.add(c);
        for (CommandLine sub : c.getSubcommands().values()) walk(sub, out, seen);
    }

    /** The subcommands' names, each once: "a, b or c". */
    static String commandsOf(CommandLine c) {
        Set<String> names = new LinkedHashSet<>();
        for (CommandLine sub : c.getSubcommands().values()) {
            if (!sub.getCommandSpec().usageMessage().hidden()) names.add(sub.getCommandName());
        }
        List<String> l = new ArrayList<>(names);
        if (l.size() <= 1) return String.join("", l);
        return String.join(", ", l.subList(0, l.size() - 1)) + " or " + l.getLast();
    }

    /** One line saying what is wrong with the command line and where its help is. */
    static String problem(ParameterException ex) {
        CommandLine c = ex.getCommandLine();
        String what = ControlCli.oneLine(ex.getMessage());
        // An unknown option says more than the required option it displaced, which picocli reports first.
        List<String> unmatched = ex instanceof UnmatchedArgumentException u ? u.getUnmatched() : c.getUnmatchedArguments();
        if (!unmatched.isEmpty()) {
            String first = unmatched.getFirst();
            if (!first.startsWith("-")) {
                what = c.getSubcommands().isEmpty() ? "unexpected argument \"" + first + "\""
                        : "unknown command \"" + first + "\" for \"" + c.getCommandSpec().qualifiedName() + "\"";
            } else {
                what = "unknown option \"" + first + "\"";
            }
            List<String> suggestions = ex instanceof UnmatchedArgumentException u ? u.getSuggestions() : List.of();
            if (!suggestions.isEmpty()) what += " (did you mean " + suggestions.getFirst() + "?)";
        } else if (what.startsWith("Missing required subcommand")) {
            what = "missing command: " + commandsOf(c);
        }
        return what + " (see '" + c.getCommandSpec().qualifiedName() + " --help')";
    }
}
