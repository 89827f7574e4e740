package dev.lattice.control.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** {@code preauthkeys create|list|expire|delete}: keys for {@code tailscale up --authkey}. */
@Command(name = "preauthkeys", aliases = {"preauthkey", "authkey", "pre"}, description = "Manage the pre-auth keys",
        subcommands = {PreAuthKeysCommand.Create.class, PreAuthKeysCommand.ListKeys.class, PreAuthKeysCommand.Expire.class,
                PreAuthKeysCommand.Delete.class})
final class PreAuthKeysCommand {
    private PreAuthKeysCommand() {}

    static final List<String> HEADER = List.of("ID", "Key/Prefix", "Reusable", "Ephemeral", "Used", "Expiration", "Created", "Owner");
    private static final String KIND = "lattice-auth-";

    @Command(name = "create", aliases = {"c", "new"}, description = "Creates a new pre-auth key and prints only the key")
    static final class Create extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = {"-u", "--user"}, description = "owner (name or id); may be omitted for a tag-only key")
        String user;

        @Option(names = "--reusable", description = "the key may register any number of nodes")
        boolean reusable;

        @Option(names = "--ephemeral", description = "nodes registered with it are deleted when they go away")
        boolean ephemeral;

        @Option(names = {"-e", "--expiration"}, defaultValue = "1h", description = "lifetime, e.g. 30m, 24h, 90d (default ${DEFAULT-VALUE})")
        String expiration;

        @Option(names = "--tags", split = ",", paramLabel = "TAG", description = "tags for the nodes it registers, e.g. tag:server")
        List<String> tags = new ArrayList<>();

        @Override
        public Integer call() {
            var exp = ApiKeysCommand.expiration(expiration);
            ObjectNode req = JsonNodeFactory.instance.objectNode();
            if (user != null && !user.isEmpty()) req.put("user", user);
            req.put("reusable", reusable).put("ephemeral", ephemeral);
            req.put("expiration", exp.toString());
            ArrayNode t = req.putArray("aclTags");
            tags.stream().filter(s -> !s.isBlank()).forEach(t::add);
            JsonNode k = client().post("/api/v1/preauthkey", req).get("preAuthKey");
            output().result(k, Output.text(k, "key"));
            return 0;
        }
    }

    @Command(name = "list", aliases = {"ls", "show"}, description = "List the pre-auth keys")
    static final class ListKeys extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = {"-u", "--user"}, description = "only the keys of this user (name or id)")
        String user;

        @Override
        public Integer call() {
            String q = user == null || user.isEmpty() ? "" : "?user=" + AdminClient.enc(user);
            output().list(client().get("/api/v1/preauthkey" + q).get("preAuthKeys"), HEADER, k -> {
                JsonNode u = k.get("user");
                String owner = !k.get("aclTags").isEmpty() ? Output.join(k, "aclTags", ",")
                        : u != null && u.isObject() ? Output.text(u, "name") : "-";
                return List.of(Output.text(k, "id"), Output.text(k, "key"), Output.text(k, "reusable"),
                        Output.text(k, "ephemeral"), Output.text(k, "used"), Output.time(k, "expiration", "-"),
                        Output.time(k, "createdAt", ""), owner);
            });
            return 0;
        }
    }

    @Command(name = "expire", aliases = {"revoke", "exp", "e"}, description = "Expire a pre-auth key: --id N, or the key itself")
    static final class Expire extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = {"-i", "--id"}, description = "pre-auth key ID")
        long id;

        @Option(names = {"-u", "--user"}, description = "(older Headscale form) the key's owner; only checked")
        String user;

        @Parameters(arity = "0..1", paramLabel = "KEY", description = "the key (full, or as listed)")
        String key;

        @Override
        public Integer call() {
            long target = id != 0 ? id : idOfKey();
            output().result(client().post("/api/v1/preauthkey/expire",
                    JsonNodeFactory.instance.objectNode().put("id", Long.toString(target))), "Key expired");
            return 0;
        }

        private long idOfKey() {
            if (key == null || key.isEmpty()) throw new UsageException("missing --id parameter");
            String prefix = prefixOf(key);
            String q = user == null || user.isEmpty() ? "" : "?user=" + AdminClient.enc(user);
            for (JsonNode k : client().get("/api/v1/preauthkey" + q).get("preAuthKeys")) {
                if (prefixOf(Output.text(k, "key")).equals(prefix)) return Long.parseLong(Output.text(k, "id"));
            }
            throw new CliException("pre-auth key " + (prefix.isEmpty() ? key : KIND + prefix + "-***") + " not found");
        }
    }

    /** The 12-character lookup prefix of a full or listed ({@code lattice-auth-<prefix>-***}) key. */
    static String prefixOf(String key) {
        String k = key.strip();
        if (!k.startsWith(KIND) || k.length() < KIND.length() + 12) return "";
        return k.substring(KIND.length(), KIND.length() + 12);
    }

    @Command(name = "delete", aliases = {"del", "rm", "d"}, description = "Delete a pre-auth key")
    static final class Delete extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = {"-i", "--id"}, required = true, description = "pre-auth key ID")
        long id;

        @Override
        public Integer call() {
            output().result(client().delete("/api/v1/preauthkey?id=" + id), "Key deleted");
            return 0;
        }
    }
}
