package dev.lattice.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every command of {@code lattice}'s tree, walked from {@link LatticeCli} itself (a command added later is covered
 * too): {@code --help} and {@code -h} print its own usage with all its options and exit 0 without asking the daemon;
 * a wrong flag is one line on stderr and exit 2.
 */
class LatticeCliHelpTest {
    /** Each command below the root, as the words after {@code lattice}. */
    static List<List<String>> commandPaths() {
        List<List<String>> out = new ArrayList<>();
        walk(new CommandLine(new LatticeCli()), new ArrayList<>(), out);
        return out;
    }

    private static void walk(CommandLine cl, List<String> path, List<List<String>> out) {
        for (var e : cl.getSubcommands().entrySet()) {
            List<String> p = new ArrayList<>(path);
            p.add(e.getKey());
            out.add(p);
            walk(e.getValue(), p, out);
        }
    }

    static CommandLine commandAt(List<String> path) {
        CommandLine cl = new CommandLine(new LatticeCli());
        for (String w : path) cl = cl.getSubcommands().get(w);
        return cl;
    }

    static LatticeCli.Result run(List<String> path, String... more) {
        List<String> args = new ArrayList<>(List.of("--socket=/nonexistent/latticed.sock"));
        args.addAll(path);
        args.addAll(List.of(more));
        return LatticeCli.capture(args.toArray(String[]::new));
    }

    @Test
    void theTreeHasTheCommandsTailscaleUsersExpect() {
        assertThat(commandPaths()).contains(List.of("up"), List.of("down"), List.of("set"), List.of("status"),
                List.of("exit-node"), List.of("exit-node", "list"), List.of("ping"), List.of("ip"), List.of("whois"));
    }

    @Test
    void everyCommandAnswersHelpWithItsOwnOptions() {
        for (List<String> path : commandPaths()) {
            String name = "lattice " + String.join(" ", path);
            for (String flag : List.of("--help", "-h")) {
                LatticeCli.Result r = run(path, flag);
                assertThat(r.code()).as(name + " " + flag + ": " + r.err()).isZero();
                assertThat(r.err()).as(name + " " + flag).isEmpty();
                assertThat(r.out()).as(name + " " + flag).startsWith("Usage: " + name);
                for (OptionSpec o : commandAt(path).getCommandSpec().options()) {
                    if (o.hidden()) continue;
                    assertThat(r.out()).as(name + " --help lists " + o.longestName()).contains(o.longestName());
                }
            }
        }
        LatticeCli.Result root = LatticeCli.capture("--help");
        assertThat(root.code()).isZero();
        assertThat(root.out()).startsWith("Usage: lattice").contains("exit-node", "set", "up");
    }

    @Test
    void aWrongFlagIsOneLineAndExitCode2() {
        for (List<String> path : commandPaths()) {
            String name = "lattice " + String.join(" ", path);
            LatticeCli.Result r = run(path, "--no-such-flag");
            assertThat(r.code()).as(name).isEqualTo(2);
            assertThat(r.out()).as(name).isEmpty();
            assertThat(r.err()).as(name).isEqualTo(name + ": unknown flag: --no-such-flag (see '" + name + " --help')\n");
        }
    }

    @Test
    void unknownAndMissingSubcommandsAreOneLineWithoutGuesses() {
        assertThat(LatticeCli.capture("frobnicate"))
                .isEqualTo(new LatticeCli.Result(2, "", "lattice: unknown subcommand: frobnicate (see 'lattice --help')\n"));
        // picocli would have offered "Did you mean netcheck?" for a command it did not know.
        assertThat(LatticeCli.capture("sett").err()).doesNotContain("Did you mean").startsWith("lattice: unknown subcommand: sett");
        assertThat(LatticeCli.capture("exit-node"))
                .isEqualTo(new LatticeCli.Result(2, "", "lattice exit-node: missing subcommand: list\n"));
        assertThat(LatticeCli.capture("exit-node", "frob").err())
                .isEqualTo("lattice exit-node: unknown subcommand: frob (see 'lattice exit-node --help')\n");
        assertThat(LatticeCli.capture("ping").err())
                .isEqualTo("lattice ping: Missing required parameter: 'hostname-or-IP' (see 'lattice ping --help')\n");
    }
}
