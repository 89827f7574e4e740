package dev.lattice.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.DynamicTest;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The whole command tree answers for help: {@code --help}, {@code -h} and {@code help PATH} print the command's own
 * usage with its options and exit 0; an unknown option, a missing subcommand or a missing required option is one
 * line on stderr naming where the help is, exit 2. No server is needed for any of it.
 */
class ControlCliHelpTest {
    record Result(int code, String out, String err) {}

    static Result cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ControlCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), new ByteArrayInputStream(new byte[0]));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static String[] args(List<String> path, String... more) {
        List<String> a = new ArrayList<>(path);
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** The command path below the root, e.g. [users, list]. */
    static List<String> path(CommandLine c) {
        List<String> p = new ArrayList<>();
        for (CommandLine x = c; x.getParent() != null; x = x.getParent()) p.addFirst(x.getCommandName());
        return p;
    }

    static List<CommandLine> tree() {
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        return Usage.tree(ControlCli.commandLine(sink, sink, new ByteArrayInputStream(new byte[0])));
    }

    @TestFactory
    Stream<DynamicTest> everyCommandAnswersHelpWithItsOwnOptions() {
        return tree().stream().map(c -> DynamicTest.dynamicTest(String.join(" ", path(c)).isEmpty() ? "(root)"
                : String.join(" ", path(c)), () -> {
            List<String> path = path(c);
            String name = c.getCommandSpec().qualifiedName();
            Result help = cli(args(path, "--help"));
            assertThat(help.code()).as(name + " --help").isZero();
            assertThat(help.err()).isEmpty();
            assertThat(help.out()).startsWith("Usage: " + name);
            for (OptionSpec o : c.getCommandSpec().options()) {
                if (!o.hidden()) assertThat(help.out()).as(name + " lists " + o.longestName()).contains(o.longestName());
            }
            assertThat(cli(args(path, "-h"))).as(name + " -h").isEqualTo(help);
            List<String> viaHelp = new ArrayList<>(List.of("help"));
            viaHelp.addAll(path);
            assertThat(cli(viaHelp.toArray(String[]::new))).as("help " + String.join(" ", path)).isEqualTo(help);

            Result unknown = cli(args(path, "--no-such-option"));
            assertThat(unknown.code()).as(name + " --no-such-option").isEqualTo(2);
            assertThat(unknown.out()).isEmpty();
            assertThat(unknown.err()).hasLineCount(1).contains("--no-such-option").endsWith("(see '" + name + " --help')\n");

            boolean group = !c.getSubcommands().isEmpty() && c.getParent() != null;
            boolean needsSomething = c.getCommandSpec().options().stream().anyMatch(OptionSpec::required)
                    || c.getCommandSpec().positionalParameters().stream().anyMatch(p -> p.required());
            if (group || needsSomething) {
                Result bare = cli(args(path));
                assertThat(bare.code()).as(name + " without its arguments").isEqualTo(2);
                assertThat(bare.err()).hasLineCount(1).endsWith("(see '" + name + " --help')\n");
            }
        }));
    }

    @Test
    void theCommandsOfTheIssueExitZeroWithTheirOwnOptions() {
        assertThat(cli("serve", "--help").out()).startsWith("Usage: lattice-control serve").contains("--config");
        assertThat(cli("users", "list", "--help").out()).startsWith("Usage: lattice-control users list").contains("--email");
        assertThat(cli("preauthkeys", "create", "--help").out()).contains("--reusable").contains("--expiration");
        Result leaf = cli("help", "users", "list");
        assertThat(leaf.code()).isZero();
        assertThat(leaf.out()).startsWith("Usage: lattice-control users list").contains("--email");
    }

    @Test
    void wrongUsageIsOneLineWithExitTwo() {
        Result group = cli("users");
        assertThat(group.code()).isEqualTo(2);
        assertThat(group.err()).isEqualTo(
                "missing command: create, list, rename or destroy (see 'lattice-control users --help')\n");
        Result typo = cli("usrs", "list");
        assertThat(typo.code()).isEqualTo(2);
        assertThat(typo.err()).isEqualTo(
                "unknown command \"usrs\" for \"lattice-control\" (did you mean users?) (see 'lattice-control --help')\n");
        Result helpTypo = cli("help", "users", "lst");
        assertThat(helpTypo.code()).isEqualTo(2);
        assertThat(helpTypo.err()).hasLineCount(1).contains("unknown command \"lst\" for \"lattice-control users\"");
        Result missing = cli("nodes", "expire");
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).hasLineCount(1).contains("--identifier");
    }
}
