package dev.lattice.control.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** {@code debug create-node}: Headscale's testing aid, a registration for a made-up machine. */
@Command(name = "debug", description = "Debugging and testing commands", subcommands = DebugCommand.CreateNode.class)
final class DebugCommand {
    private DebugCommand() {}

    @Command(name = "create-node", description = "Create a node that can be registered with 'auth register --auth-id KEY'")
    static final class CreateNode extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = "--name", required = true, description = "hostname")
        String name;

        @Option(names = {"-u", "--user"}, required = true, description = "user (name or id)")
        String user;

        @Option(names = {"-k", "--key"}, required = true, paramLabel = "AUTH_ID", description = "the auth id it waits under")
        String key;

        @Option(names = {"-r", "--route"}, split = ",", paramLabel = "PREFIX", description = "routes it advertises")
        List<String> routes = new ArrayList<>();

        @Override
        public Integer call() {
            ObjectNode req = JsonNodeFactory.instance.objectNode().put("user", user).put("key", key).put("name", name);
            ArrayNode a = req.putArray("routes");
            routes.forEach(a::add);
            JsonNode n = client().post("/api/v1/debug/node", req).get("node");
            output().result(n, "Node created");
            return 0;
        }
    }
}
