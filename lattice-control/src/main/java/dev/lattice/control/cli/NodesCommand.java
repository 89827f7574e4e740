package dev.lattice.control.cli;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** {@code nodes list|register|expire|rename|delete|tag|list-routes|approve-routes}, as Headscale's. */
@Command(name = "nodes", aliases = "node", description = "Manage the nodes of lattice-control",
        subcommands = {NodesCommand.ListNodes.class, NodesCommand.Register.class, NodesCommand.Expire.class,
                NodesCommand.Rename.class, NodesCommand.Delete.class, NodesCommand.Tag.class, NodesCommand.ListRoutes.class,
                NodesCommand.ApproveRoutes.class, NodesCommand.BackfillIps.class})
final class NodesCommand {
    private NodesCommand() {}

    static final List<String> HEADER = List.of("ID", "Hostname", "Name", "MachineKey", "NodeKey", "User", "Tags",
            "IP addresses", "Ephemeral", "Last seen", "Expiration", "Connected", "Expired");
    static final List<String> ROUTES_HEADER = List.of("ID", "Hostname", "Approved", "Available", "Serving (Primary)");

    abstract static class WithId extends ControlCli.Sub {
        @Option(names = {"-i", "--identifier"}, required = true, paramLabel = "ID", description = "node identifier (ID)")
        long id;
    }

    static List<String> row(JsonNode n) {
        JsonNode user = n.get("user");
        JsonNode key = n.get("preAuthKey");
        boolean ephemeral = key != null && key.isObject() && key.get("ephemeral").asBoolean();
        String expiry = Output.text(n, "expiry");
        boolean expired = !expiry.isEmpty() && OffsetDateTime.parse(expiry).toInstant().isBefore(Instant.now());
        return List.of(Output.text(n, "id"), Output.text(n, "name"), Output.text(n, "givenName"),
                shortKey(Output.text(n, "machineKey")), shortKey(Output.text(n, "nodeKey")),
                user == null || user.isNull() ? "" : Output.text(user, "name"), Output.join(n, "tags", ","),
                Output.join(n, "ipAddresses", ", "), Boolean.toString(ephemeral), Output.time(n, "lastSeen", ""),
                Output.time(n, "expiry", "N/A"), n.get("online").asBoolean() ? "online" : "offline", expired ? "yes" : "no");
    }

    /** Go's {@code key.NodePublic.ShortString}: {@code [} + first 5 base64 characters + {@code ]}. */
    static String shortKey(String text) {
        int colon = text.indexOf(':');
        try {
            byte[] raw = HexFormat.of().parseHex(text.substring(colon + 1));
            return "[" + Base64.getEncoder().encodeToString(raw).substring(0, 5) + "]";
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            return "";
        }
    }

    @Command(name = "list", aliases = {"ls", "show"}, description = "List nodes")
    static final class ListNodes extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = {"-u", "--user"}, description = "only the nodes of this user (name or id)")
        String user;

        @Override
        public Integer call() {
            String q = user == null || user.isEmpty() ? "" : "?user=" + AdminClient.enc(user);
            output().list(client().get("/api/v1/node" + q).get("nodes"), HEADER, NodesCommand::row);
            return 0;
        }
    }

    @Command(name = "register", description = "Registers a waiting node: --key nodekey:... (or its auth id) --user USER")
    static final class Register extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = {"-u", "--user"}, required = true, description = "user (name or id)")
        String user;

        @Option(names = {"-k", "--key"}, required = true, description = "the node's key (nodekey:...) or its auth id")
        String key;

        @Override
        public Integer call() {
            JsonNode n = client().post("/api/v1/node/register?user=" + AdminClient.enc(user) + "&key=" + AdminClient.enc(key), null)
                    .get("node");
            output().result(n, "Node " + Output.text(n, "givenName") + " registered");
            return 0;
        }
    }

    @Command(name = "expire", aliases = {"logout", "exp", "e"},
            description = "Expire (log out) a node; --expiry sets a later time, --disable removes its expiry")
    static final class Expire extends WithId implements Callable<Integer> {
        @Option(names = {"-e", "--expiry"}, description = "expire at (RFC 3339, e.g. 2025-08-27T10:00:00Z) instead of now")
        String expiry;

        @Option(names = {"-d", "--disable"}, description = "disable key expiry (the node never expires)")
        boolean disable;

        @Override
        public Integer call() {
            Instant now = Instant.now();
            Instant at = null;
            if (expiry != null && !expiry.isEmpty()) {
                try {
                    at = OffsetDateTime.parse(expiry).toInstant();
                } catch (DateTimeParseException e) {
                    throw new UsageException("parsing expiry time: \"" + expiry + "\" is not RFC 3339 (e.g. 2025-08-27T10:00:00Z)");
                }
            }
            String q = disable ? "?disableExpiry=true" : at != null ? "?expiry=" + AdminClient.enc(at.toString()) : "";
            JsonNode n = client().post("/api/v1/node/" + id + "/expire" + q, null).get("node");
            output().result(n, disable ? "Node expiry disabled" : at != null && at.isAfter(now) ? "Node expiration updated" : "Node expired");
            return 0;
        }
    }

    @Command(name = "rename", description = "Renames a node (its MagicDNS name)")
    static final class Rename extends WithId implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NEW_NAME")
        String newName;

        @Override
        public Integer call() {
            JsonNode n = client().post("/api/v1/node/" + id + "/rename/" + AdminClient.enc(newName), null).get("node");
            output().result(n, "Node renamed");
            return 0;
        }
    }

    @Command(name = "delete", aliases = "del", description = "Delete a node")
    static final class Delete extends WithId implements Callable<Integer> {
        @Override
        public Integer call() {
            JsonNode n = client().get("/api/v1/node/" + id).get("node");
            if (!root().confirm("Do you want to remove the node " + Output.text(n, "givenName") + "?")) {
                output().raw(JsonNodeFactory.instance.objectNode().put("Result", "Node not deleted"), "Node not deleted");
                return 0;
            }
            client().delete("/api/v1/node/" + id);
            output().raw(JsonNodeFactory.instance.objectNode().put("Result", "Node deleted"), "Node deleted");
            return 0;
        }
    }

    @Command(name = "tag", aliases = {"tags", "t"}, description = "Set the tags of a node (it becomes a tagged node)")
    static final class Tag extends WithId implements Callable<Integer> {
        @Option(names = {"-t", "--tags"}, required = true, split = ",", paramLabel = "TAG", description = "tags, e.g. tag:web,tag:prod")
        List<String> tags = new ArrayList<>();

        @Override
        public Integer call() {
            ObjectNode req = JsonNodeFactory.instance.objectNode();
            ArrayNode a = req.putArray("tags");
            tags.forEach(a::add);
            JsonNode n = client().post("/api/v1/node/" + id + "/tags", req).get("node");
            output().result(n, "Node updated");
            return 0;
        }
    }

    @Command(name = "list-routes", aliases = {"lsr", "routes"}, description = "List routes advertised, approved and served by nodes")
    static final class ListRoutes extends ControlCli.Sub implements Callable<Integer> {
        @Option(names = {"-i", "--identifier"}, paramLabel = "ID", description = "only this node")
        long id;

        @Override
        public Integer call() {
            JsonNode all = id != 0
                    ? JsonNodeFactory.instance.arrayNode().add(client().get("/api/v1/node/" + id).get("node"))
                    : client().get("/api/v1/node").get("nodes");
            ArrayNode withRoutes = JsonNodeFactory.instance.arrayNode();
            for (JsonNode n : all) {
                if (!n.get("approvedRoutes").isEmpty() || !n.get("availableRoutes").isEmpty() || !n.get("subnetRoutes").isEmpty()) {
                    withRoutes.add(n);
                }
            }
            output().list(withRoutes, ROUTES_HEADER, n -> List.of(Output.text(n, "id"), Output.text(n, "givenName"),
                    Output.join(n, "approvedRoutes", ", "), Output.join(n, "availableRoutes", ", "),
                    Output.join(n, "subnetRoutes", ", ")));
            return 0;
        }
    }

    @Command(name = "approve-routes", description = "Set the approved routes of a node (replaces them; \"\" removes all)")
    static final class ApproveRoutes extends WithId implements Callable<Integer> {
        @Option(names = {"-r", "--routes"}, required = true, split = ",", paramLabel = "PREFIX",
                description = "routes, e.g. 10.0.0.0/8,192.168.0.0/24; 0.0.0.0/0 or ::/0 approves the exit node")
        List<String> routes = new ArrayList<>();

        @Override
        public Integer call() {
            ObjectNode req = JsonNodeFactory.instance.objectNode();
            ArrayNode a = req.putArray("routes");
            routes.stream().filter(r -> !r.isBlank()).forEach(a::add);
            JsonNode n = client().post("/api/v1/node/" + id + "/approve_routes", req).get("node");
            output().result(n, "Node updated");
            return 0;
        }
    }

    @Command(name = "backfillips", description = "Give nodes the addresses the configured prefixes call for (and take away the rest)")
    static final class BackfillIps extends ControlCli.Sub implements Callable<Integer> {
        @Override
        public Integer call() {
            if (!root().confirm("Are you sure that you want to assign/remove IPs to/from nodes?")) return 0;
            JsonNode r = client().post("/api/v1/node/backfillips?confirmed=true", null);
            StringBuilder text = new StringBuilder();
            for (JsonNode c : r.get("changes")) text.append(c.asString()).append('\n');
            output().result(r, text + "Node IPs backfilled successfully");
            return 0;
        }
    }
}
