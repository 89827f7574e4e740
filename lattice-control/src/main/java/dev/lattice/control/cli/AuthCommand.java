package dev.lattice.control.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/** {@code auth register --auth-id ID --user U}: completes an interactive {@code tailscale up}. */
@Command(name = "auth", description = "Manage node authentication", subcommands = AuthCommand.Register.class)
final class AuthCommand {
    private AuthCommand() {}

    @Command(name = "register", description = "Register a waiting node to a user (the ID from its /register/ID URL)")
    static final class Register extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = "--auth-id", required = true, paramLabel = "ID", description = "auth id from the node's registration URL")
        String authId;

        @Option(names = {"-u", "--user"}, required = true, description = "user (name or id)")
        String user;

        @Override
        public Integer call() {
            var req = JsonNodeFactory.instance.objectNode().put("authId", authId).put("user", user);
            JsonNode n = client().post("/api/v1/auth/register", req).get("node");
            output().result(n, "Node " + Output.text(n, "givenName") + " registered");
            return 0;
        }
    }
}
