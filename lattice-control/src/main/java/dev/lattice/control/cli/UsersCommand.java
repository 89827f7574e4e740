package dev.lattice.control.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** {@code users create|list|rename|destroy}, as Headscale's. */
@Command(name = "users", aliases = "user", description = "Manage the users of lattice-control",
        subcommands = {UsersCommand.Create.class, UsersCommand.ListUsers.class, UsersCommand.Rename.class, UsersCommand.Destroy.class})
final class UsersCommand {
    private UsersCommand() {}

    /** Headscale's columns, then the identity at the provider (issuer/subject) for users who log in through OIDC. */
    static final String[] HEADER = {"ID", "Name", "Username", "Email", "Created", "Provider"};

    /** {@code --identifier ID} or {@code --name NAME}, exactly one. */
    static final class Which {
        @Option(names = {"-i", "--identifier"}, paramLabel = "ID", description = "user identifier (ID)")
        Long id;

        @Option(names = {"-n", "--name"}, paramLabel = "NAME", description = "username")
        String name;
    }

    /** Looks the user up on the server (so an unknown one is reported by name) and returns its JSON. */
    static JsonNode find(AdminClient c, Long id, String name) {
        String q = id != null ? "id=" + id : "name=" + AdminClient.enc(name);
        JsonNode users = c.get("/api/v1/user?" + q).get("users");
        if (users == null || users.isEmpty()) {
            throw new CliException(id != null ? "user with id " + id + " not found" : "user \"" + name + "\" not found");
        }
        if (users.size() > 1) throw new CliException("multiple users match query, specify an ID");
        return users.get(0);
    }

    @Command(name = "create", aliases = {"c", "new"}, description = "Creates a new user")
    static final class Create extends ControlCli.Sub implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Option(names = {"-d", "--display-name"}, description = "display name")
        String displayName;

        @Option(names = {"-e", "--email"}, description = "email")
        String email;

        @Override
        public Integer call() {
            ObjectNode req = JsonNodeFactory.instance.objectNode().put("name", name);
            if (displayName != null) req.put("displayName", displayName);
            if (email != null) req.put("email", email);
            JsonNode u = client().post("/api/v1/user", req).get("user");
            output().result(u, "User created");
            return 0;
        }
    }

    @Command(name = "list", aliases = {"ls", "show"}, description = "List all the users")
    static final class ListUsers extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = {"-i", "--identifier"}, paramLabel = "ID", description = "only the user with this id")
        Long id;

        @Option(names = {"-n", "--name"}, description = "only the user with this name")
        String name;

        @Option(names = {"-e", "--email"}, description = "only users with this email")
        String email;

        @Override
        public Integer call() {
            StringBuilder q = new StringBuilder("/api/v1/user");
            if (id != null && id > 0) q.append("?id=").append(id);
            else if (name != null && !name.isEmpty()) q.append("?name=").append(AdminClient.enc(name));
            else if (email != null && !email.isEmpty()) q.append("?email=").append(AdminClient.enc(email));
            output().list(client().get(q.toString()).get("users"), List.of(HEADER), u -> List.of(
                    Output.text(u, "id"), Output.text(u, "displayName"), Output.text(u, "name"), Output.text(u, "email"),
                    Output.time(u, "createdAt", ""), Output.text(u, "providerId")));
            return 0;
        }
    }

    @Command(name = "rename", aliases = "mv", description = "Renames a user (--identifier ID | --name OLD) --new-name NEW, or: rename OLD NEW")
    static final class Rename extends ControlCli.Sub implements Callable<Integer> {
        @ArgGroup(exclusive = true)
        Which which;

        @Option(names = {"-r", "--new-name"}, paramLabel = "NEW", description = "new username")
        String newName;

        @Parameters(arity = "0..2", paramLabel = "OLD NEW", description = "old and new name (older Headscale form)")
        List<String> positional;

        @Override
        public Integer call() {
            Long id = which == null ? null : which.id;
            String old = which == null ? null : which.name;
            String to = newName;
            if (positional != null && !positional.isEmpty()) {
                if (positional.size() == 2 && which == null && newName == null) {
                    old = positional.get(0);
                    to = positional.get(1);
                } else if (positional.size() == 1 && which != null && newName == null) {
                    to = positional.get(0);
                } else {
                    throw new UsageException("use: users rename (--identifier ID | --name OLD) --new-name NEW, or users rename OLD NEW");
                }
            }
            if (id == null && old == null) throw new UsageException("--name or --identifier flag is required");
            if (to == null || to.isEmpty()) throw new UsageException("--new-name is required");
            JsonNode u = find(client(), id, old);
            JsonNode r = client().post("/api/v1/user/" + Output.text(u, "id") + "/rename/" + AdminClient.enc(to), null).get("user");
            output().result(r, "User renamed");
            return 0;
        }
    }

    @Command(name = "destroy", aliases = "delete", description = "Destroys a user (and its pre-auth keys); refused while it owns nodes")
    static final class Destroy extends ControlCli.Sub implements Callable<Integer> {
        @ArgGroup(exclusive = true, multiplicity = "1")
        Which which;

        @Override
        public Integer call() {
            JsonNode u = find(client(), which.id, which.name);
            if (!root().confirm("Do you want to remove the user \"" + Output.text(u, "name") + "\" (" + Output.text(u, "id")
                    + ") and any associated preauthkeys?")) {
                output().raw(JsonNodeFactory.instance.objectNode().put("Result", "User not destroyed"), "User not destroyed");
                return 0;
            }
            JsonNode r = client().delete("/api/v1/user/" + Output.text(u, "id"));
            output().result(r, "User destroyed");
            return 0;
        }
    }
}
