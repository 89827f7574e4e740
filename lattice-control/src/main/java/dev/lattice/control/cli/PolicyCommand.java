package dev.lattice.control.cli;

import dev.lattice.control.policy.PolicySize;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code policy get|set|check}, as Headscale's: {@code get} prints the policy as written (HuJSON, comments kept;
 * no other output format), {@code set -f FILE} stores it (database mode only) after the server validated it and
 * ran its tests, {@code check -f FILE} only validates. Errors name the line and column.
 */
@Command(name = "policy", description = "Manage the access policy",
        subcommands = {PolicyCommand.Get.class, PolicyCommand.Set.class, PolicyCommand.Check.class})
final class PolicyCommand {
    private PolicyCommand() {}

    /** The file's text; refused before reading (or sending) when it is over the server's limit. */
    static String read(Path file) {
        try {
            String problem = PolicySize.problem(Files.size(file));
            if (problem != null) throw new CliException(problem);
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CliException("reading policy file: " + e.getMessage(), e);
        }
    }

    static ObjectNode body(String text) {
        return JsonNodeFactory.instance.objectNode().put("policy", text);
    }

    @Command(name = "get", aliases = {"show", "view", "fetch"}, description = "Print the current policy")
    static final class Get extends ControlCli.Sub implements Callable<Integer> {
        @Override
        public Integer call() {
            JsonNode r;
            try {
                r = client().get("/api/v1/policy");
            } catch (CliException e) {
                throw new CliException("loading policy: " + e.getMessage(), e);
            }
            root().out.println(Output.text(r, "policy"));
            return 0;
        }
    }

    @Command(name = "set", aliases = {"put", "update"},
            description = "Replace the policy with FILE (HuJSON); only with policy.mode database")
    static final class Set extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "policy file (HuJSON)")
        Path file;

        @Override
        public Integer call() {
            try {
                client().call("PUT", "/api/v1/policy", body(read(file)));
            } catch (CliException e) {
                // The server's refusals already say "setting policy: ...".
                String m = e.getMessage();
                throw new CliException(m.startsWith("setting policy: ") ? m : "setting policy: " + m, e);
            }
            root().out.println("Policy updated.");
            return 0;
        }
    }

    @Command(name = "check", description = "Check FILE for errors against the running server's users and nodes, running its tests")
    static final class Check extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "policy file (HuJSON)")
        Path file;

        @Override
        public Integer call() {
            String text = read(file);
            client().post("/api/v1/policy/check", body(text));
            root().out.println("Policy is valid");
            return 0;
        }
    }
}
