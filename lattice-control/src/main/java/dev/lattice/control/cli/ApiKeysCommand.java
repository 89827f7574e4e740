package dev.lattice.control.cli;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** {@code apikeys create|list|expire|delete}: keys for the REST API on the main port. */
@Command(name = "apikeys", aliases = {"apikey", "api"}, description = "Manage the API keys of lattice-control",
        subcommands = {ApiKeysCommand.Create.class, ApiKeysCommand.ListKeys.class, ApiKeysCommand.Expire.class,
                ApiKeysCommand.Delete.class})
final class ApiKeysCommand {
    private ApiKeysCommand() {}

    /** {@code --expiration}: from now; keys always expire, so 0 is refused (Headscale's would be expired at once). */
    static Instant expiration(String text) {
        Duration d;
        try {
            d = PromDuration.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException("parsing duration: " + e.getMessage());
        }
        if (d.isZero()) throw new UsageException("--expiration must be more than 0 (keys always expire; e.g. 90d or 10y)");
        return Instant.now().plus(d);
    }

    @Command(name = "create", aliases = {"c", "new"},
            description = "Creates a new API key; it is shown only now and cannot be retrieved again")
    static final class Create extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = {"-e", "--expiration"}, defaultValue = "90d", description = "lifetime, e.g. 30m, 24h, 90d, 10y (default ${DEFAULT-VALUE})")
        String expiration;

        @Override
        public Integer call() {
            Instant exp = expiration(expiration);
            ObjectNode req = JsonNodeFactory.instance.objectNode();
            req.put("expiration", exp.toString());
            String key = client().post("/api/v1/apikey", req).get("apiKey").asString();
            output().raw(JsonNodeFactory.instance.stringNode(key), key);
            return 0;
        }
    }

    @Command(name = "list", aliases = {"ls", "show"}, description = "List the API keys")
    static final class ListKeys extends ControlCli.Sub implements Callable<Integer> {
        @Override
        public Integer call() {
            output().list(client().get("/api/v1/apikey").get("apiKeys"), List.of("ID", "Prefix", "Expiration", "Created"),
                    k -> List.of(Output.text(k, "id"), Output.text(k, "prefix"), Output.time(k, "expiration", "-"),
                            Output.time(k, "createdAt", "")));
            return 0;
        }
    }

    abstract static class Which extends ControlCli.Sub {
        @Option(names = {"-p", "--prefix"}, description = "API key prefix")
        String prefix;

        @Option(names = {"-i", "--id"}, description = "API key ID")
        long id;

        ObjectNode request() {
            if ((id == 0) == (prefix == null || prefix.isEmpty())) throw new UsageException("either --id or --prefix must be provided (only one)");
            ObjectNode req = JsonNodeFactory.instance.objectNode();
            if (id != 0) req.put("id", Long.toString(id));
            else req.put("prefix", prefix);
            return req;
        }
    }

    @Command(name = "expire", aliases = {"revoke", "exp", "e"}, description = "Expire an API key")
    static final class Expire extends Which implements Callable<Integer> {
        @Override
        public Integer call() {
            output().result(client().post("/api/v1/apikey/expire", request()), "Key expired");
            return 0;
        }
    }

    @Command(name = "delete", aliases = {"remove", "del"}, description = "Delete an API key")
    static final class Delete extends Which implements Callable<Integer> {
        @Override
        public Integer call() {
            ObjectNode req = request();
            String path = id != 0 ? "/api/v1/apikey/-?id=" + id : "/api/v1/apikey/" + AdminClient.enc(prefix);
            output().result(client().delete(path), "Key deleted");
            return 0;
        }
    }
}
