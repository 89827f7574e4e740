package dev.lattice.control.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * {@code auth register --auth-id ID --user U} completes an interactive {@code tailscale up}; {@code auth reject}
 * refuses it (its client is told); {@code auth approve} is Headscale's approval of an auth session without a user
 * (Lattice's sessions are registrations, which {@code register} approves).
 */
@Command(name = "auth", description = "Manage node authentication and approval",
        subcommands = {AuthCommand.Register.class, AuthCommand.Approve.class, AuthCommand.Reject.class})
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

    @Command(name = "approve", description = "Approve a pending authentication request")
    static final class Approve extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = "--auth-id", required = true, paramLabel = "ID", description = "auth id")
        String authId;

        @Override
        public Integer call() {
            JsonNode r = client().post("/api/v1/auth/approve", JsonNodeFactory.instance.objectNode().put("authId", authId));
            output().result(r, "Auth request approved");
            return 0;
        }
    }

    @Command(name = "reject", description = "Reject a pending authentication request (its client is told)")
    static final class Reject extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = "--auth-id", required = true, paramLabel = "ID", description = "auth id")
        String authId;

        @Override
        public Integer call() {
            JsonNode r = client().post("/api/v1/auth/reject", JsonNodeFactory.instance.objectNode().put("authId", authId));
            output().result(r, "Auth request rejected");
            return 0;
        }
    }
}
