package dev.lattice.control.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code help [COMMAND...]}: the help of any command of the tree, e.g. {@code help users list}. */
@Command(name = "help", helpCommand = true, description = "Show the help of a command, e.g. 'help users list'")
final class HelpCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "the command, e.g. users list")
    List<String> path = new ArrayList<>();

    @Override
    public Integer call() {
        // As a help command it is run even when the parser left arguments over: those are mistakes.
        List<String> extra = spec.commandLine().getUnmatchedArguments();
        if (!extra.isEmpty()) {
            String e = extra.getFirst();
            throw new UsageException((e.startsWith("-") ? "unknown option \"" : "unexpected argument \"") + e + "\"");
        }
        CommandLine c = spec.root().commandLine();
        for (String name : path) {
            if (name.startsWith("-")) throw new UsageException("unknown option \"" + name + "\"");
            CommandLine sub = c.getSubcommands().get(name);
            if (sub == null) {
                throw new UsageException("unknown command \"" + name + "\" for \"" + c.getCommandSpec().qualifiedName() + "\"");
            }
            c = sub;
        }
        c.usage(c.getOut());
        return 0;
    }
}
