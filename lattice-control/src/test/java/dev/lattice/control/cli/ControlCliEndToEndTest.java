package dev.lattice.control.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.server.ControlServer;
import dev.lattice.control.server.TestServer;
import dev.lattice.control.state.Change;
import dev.lattice.control.store.RegisterMethod;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.RegisterResponseAuth;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The CLI against a real server: SQLite in a temp dir, HTTP on loopback, the admin socket; every command goes
 * through {@link ControlCli#run} and its effect is checked in the store and the in-memory tailnet.
 */
class ControlCliEndToEndTest {
    @TempDir
    Path dir;

    Path configFile;
    ControlServer server;
    final List<Change> changes = new CopyOnWriteArrayList<>();

    record Result(int code, String out, String err) {}

    Result cli(String... args) {
        return cliWithInput("", args);
    }

    Result cliWithInput(String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] full = new String[args.length + 2];
        full[0] = "-c";
        full[1] = configFile.toString();
        System.arraycopy(args, 0, full, 2, args.length);
        int code = ControlCli.run(full, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static String config(Path dir, int port, String extra) throws Exception {
        return TestServer.yaml(dir, port, false) + extra;
    }

    static int freePort() throws Exception {
        return TestServer.freePort();
    }

    @BeforeEach
    void start() throws Exception {
        configFile = dir.resolve("config.yaml");
        Files.writeString(configFile, config(dir, freePort(), "unix_socket_permission: \"0770\"\n"));
        server = ControlServer.start(ControlConfig.load(configFile));
        server.tailnet().addListener(changes::addAll);
    }

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    static List<String> header(String table) {
        return List.of(table.lines().findFirst().orElseThrow().split("\\s*\\|\\s*"));
    }

    User user(String name) {
        return server.store().users().byName(name).orElseThrow();
    }

    /** A machine registering with a pre-auth key, straight through the registration logic. */
    TailnetNode registerWithKey(String authKey, String hostname, String... routes) throws Exception {
        NodePrivateKey nk = NodePrivateKey.generate();
        RegisterRequest req = RegisterRequest.builder().version(142).nodeKey(nk.publicKey()).hostinfo(hostinfo(hostname, routes))
                .auth(new RegisterResponseAuth(null, null, null, authKey)).build();
        RegisterResponse r = server.registrations().register(MachinePrivateKey.generate().publicKey(), req)
                .toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertThat(r.machineAuthorized()).isTrue();
        return server.tailnet().byNodeKey(nk.publicKey()).orElseThrow();
    }

    static Hostinfo hostinfo(String hostname, String... routes) {
        ObjectNode o = Tailcfg.json().createObjectNode().put("Hostname", hostname);
        var a = o.putArray("RoutableIPs");
        for (String r : routes) a.add(r);
        return Hostinfo.of(o);
    }

    @Test
    void socketHasTheConfiguredMode() throws Exception {
        Path sock = dir.resolve("run/lattice.sock");
        assertThat(server.adminSocket().path()).isEqualTo(sock);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sock))).isEqualTo("rwxrwx---");
        // The parent was created for it: owner plus search permission for the group the mode admits.
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sock.getParent()))).isEqualTo("rwx--x---");
    }

    @Test
    void usersCreateListRenameDestroy() throws Exception {
        Result c = cli("users", "create", "alice", "--display-name", "Alice A", "--email", "alice@example.com");
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(c.out()).isEqualTo("User created\n");
        User alice = user("alice");
        assertThat(alice.displayName()).isEqualTo("Alice A");
        assertThat(server.tailnet().user(alice.id())).isPresent(); // the tailnet's view was refreshed

        Result dup = cli("users", "create", "alice");
        assertThat(dup.code()).isEqualTo(1);
        assertThat(dup.err()).contains("already in use").doesNotContain("\tat ").hasLineCount(1);

        Result table = cli("users", "list");
        assertThat(table.out().lines().toList()).hasSize(2);
        assertThat(header(table.out())).containsExactly("ID", "Name", "Username", "Email", "Created", "Provider");
        assertThat(table.out()).contains("alice").contains("Alice A").contains("alice@example.com");

        JsonNode json = Tailcfg.json().readTree(cli("-o", "json", "users", "list").out());
        assertThat(json.isArray()).isTrue();
        assertThat(json.get(0).get("id").isNumber()).isTrue();
        assertThat(json.get(0).get("id").asLong()).isEqualTo(alice.id());
        assertThat(json.get(0).get("name").asString()).isEqualTo("alice");
        assertThat(json.get(0).get("display_name").asString()).isEqualTo("Alice A");
        assertThat(json.get(0).get("created_at").get("seconds").asLong()).isEqualTo(alice.created().getEpochSecond());
        // -o after the subcommand works too, and json-line is one line
        Result line = cli("users", "list", "-o", "json-line");
        assertThat(line.out()).hasLineCount(1).startsWith("[{\"id\":" + alice.id());

        assertThat(cli("users", "rename", "--name", "alice", "--new-name", "alicia").code()).isZero();
        assertThat(server.store().users().get(alice.id()).orElseThrow().name()).isEqualTo("alicia");
        assertThat(cli("users", "rename", "-i", Long.toString(alice.id()), "-r", "ally").out()).isEqualTo("User renamed\n");
        assertThat(cli("users", "rename", "ally", "alice").code()).isZero(); // the older positional form
        assertThat(user("alice").id()).isEqualTo(alice.id());

        Result gone = cli("users", "rename", "--name", "bob", "--new-name", "x");
        assertThat(gone.code()).isEqualTo(1);
        assertThat(gone.err()).isEqualTo("user \"bob\" not found\n");

        Result declined = cli("users", "destroy", "--name", "alice"); // no --force, stdin ends: no
        assertThat(declined.out()).isEqualTo("User not destroyed\n");
        assertThat(server.store().users().byName("alice")).isPresent();
        Result yes = cliWithInput("y\n", "users", "destroy", "--name", "alice");
        assertThat(yes.out()).isEqualTo("User destroyed\n");
        assertThat(server.store().users().byName("alice")).isEmpty();
        assertThat(server.tailnet().user(alice.id())).isEmpty();
    }

    @Test
    void preAuthKeyCreatePrintsOnlyTheKeyAndRegistersANode() throws Exception {
        cli("users", "create", "alice");
        User alice = user("alice");
        Result byName = cli("preauthkeys", "create", "--user", "alice");
        assertThat(byName.code()).as(byName.err()).isZero();
        assertThat(byName.out()).matches("lattice-auth-[A-Za-z0-9_-]{12}-[A-Za-z0-9_-]{64}\n");
        Result byId = cli("preauthkeys", "create", "-u", Long.toString(alice.id()), "--reusable", "--ephemeral", "-e", "24h");
        assertThat(byId.out()).matches("lattice-auth-\\S+\n");
        assertThat(server.store().preAuthKeys().listByUser(alice.id())).hasSize(2)
                .anySatisfy(k -> assertThat(k.reusable() && k.ephemeral()).isTrue());

        Result unknown = cli("preauthkeys", "create", "--user", "bob");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).isEqualTo("user \"bob\" not found\n");
        assertThat(cli("preauthkeys", "create", "--user", "alice", "-e", "soon").err()).startsWith("parsing duration:");

        TailnetNode n = registerWithKey(byName.out().strip(), "laptop");
        assertThat(n.userId()).isEqualTo(alice.id());

        Result list = cli("preauthkeys", "list");
        assertThat(list.out()).contains("Key/Prefix").contains("lattice-auth-").contains("-***").contains("alice");
        assertThat(list.out()).doesNotContain(byName.out().strip()); // never the secret again
        JsonNode keys = Tailcfg.json().readTree(cli("-o", "json", "preauthkeys", "list", "--user", "alice").out());
        assertThat(keys).hasSize(2);
        assertThat(keys.get(0).get("used").asBoolean()).isTrue();

        long id = keys.get(1).get("id").asLong();
        assertThat(cli("preauthkeys", "expire", "--id", Long.toString(id)).out()).isEqualTo("Key expired\n");
        assertThat(server.store().preAuthKeys().get(id).orElseThrow().isExpired(server.tailnet().now())).isTrue();
        // by the key itself (older Headscale form)
        assertThat(cli("preauthkeys", "expire", "--user", "alice", byName.out().strip()).code()).isZero();
        assertThat(cli("preauthkeys", "delete", "--id", Long.toString(id)).out()).isEqualTo("Key deleted\n");
        assertThat(server.store().preAuthKeys().get(id)).isEmpty();

        Result tagOnly = cli("preauthkeys", "create", "--tags", "tag:server");
        assertThat(tagOnly.code()).as(tagOnly.err()).isZero();
        TailnetNode tagged = registerWithKey(tagOnly.out().strip(), "db");
        assertThat(tagged.tags()).containsExactly("tag:server");
        assertThat(tagged.userId()).isNull();
    }

    @Test
    void nodeCommandsChangeTheTailnetAndAreAnnounced() throws Exception {
        cli("users", "create", "alice");
        User alice = user("alice");
        String key = cli("preauthkeys", "create", "--user", "alice", "--reusable").out().strip();
        TailnetNode web = registerWithKey(key, "web1", "10.1.0.0/16", "0.0.0.0/0", "::/0");
        TailnetNode other = registerWithKey(key, "other");

        Result table = cli("nodes", "list");
        assertThat(table.out()).contains("web1").contains("other").contains("offline").contains("alice");
        assertThat(header(table.out())).startsWith("ID", "Hostname", "Name", "MachineKey", "NodeKey", "User", "Tags");
        JsonNode json = Tailcfg.json().readTree(cli("nodes", "list", "--user", Long.toString(alice.id()), "-o", "json").out());
        assertThat(json).hasSize(2);
        assertThat(json.get(0).get("given_name").asString()).isEqualTo("web1");
        assertThat(json.get(0).get("ip_addresses").get(0).asString()).startsWith("100.64.");
        assertThat(json.get(0).get("register_method").asInt()).isEqualTo(1);
        assertThat(json.get(0).get("user").get("name").asString()).isEqualTo("alice");
        assertThat(cli("nodes", "list", "--user", "bob").err()).isEqualTo("user \"bob\" not found\n");

        changes.clear();
        assertThat(cli("nodes", "rename", "-i", Long.toString(web.id()), "www").out()).isEqualTo("Node renamed\n");
        assertThat(server.tailnet().node(web.id()).orElseThrow().givenName()).isEqualTo("www");
        assertThat(changes).contains(new Change(Change.Kind.UPDATED, web.id()));
        assertThat(cli("nodes", "rename", "-i", Long.toString(other.id()), "www").err()).contains("already in use");
        assertThat(cli("nodes", "rename", "-i", Long.toString(other.id()), "Bad_Name").err()).contains("invalid node name");

        assertThat(cli("nodes", "approve-routes", "-i", Long.toString(web.id()), "--routes", "10.1.0.0/16,0.0.0.0/0").code()).isZero();
        assertThat(server.tailnet().node(web.id()).orElseThrow().approvedRoutes())
                .containsExactly(IpPrefix.parse("0.0.0.0/0"), IpPrefix.parse("10.1.0.0/16"), IpPrefix.parse("::/0"));
        Result routes = cli("nodes", "list-routes");
        assertThat(routes.out()).contains("www").doesNotContain("other").contains("Serving (Primary)");
        JsonNode r = Tailcfg.json().readTree(cli("-o", "json", "nodes", "list-routes", "-i", Long.toString(web.id())).out());
        assertThat(r.get(0).get("available_routes")).hasSize(3);
        assertThat(r.get(0).get("subnet_routes")).as("offline: primary for nothing, exit routes only (as headscale)").hasSize(2);
        var online = server.tailnet().streamOpened(web.id()); // online: now the subnet's primary
        r = Tailcfg.json().readTree(cli("-o", "json", "nodes", "list-routes", "-i", Long.toString(web.id())).out());
        assertThat(r.get(0).get("subnet_routes")).hasSize(3);
        online.close();
        assertThat(cli("nodes", "approve-routes", "-i", Long.toString(web.id()), "--routes", "").code()).isZero();
        assertThat(server.tailnet().node(web.id()).orElseThrow().approvedRoutes()).isEmpty();

        changes.clear();
        assertThat(cli("nodes", "tag", "-i", Long.toString(web.id()), "--tags", "tag:web,tag:prod").out()).isEqualTo("Node updated\n");
        TailnetNode tagged = server.tailnet().node(web.id()).orElseThrow();
        assertThat(tagged.tags()).containsExactly("tag:web", "tag:prod");
        assertThat(tagged.userId()).isNull();
        assertThat(changes).contains(new Change(Change.Kind.UPDATED, web.id()));
        assertThat(cli("nodes", "tag", "-i", Long.toString(web.id()), "--tags", "web").err()).contains("must start with the string 'tag:'");

        assertThat(cli("nodes", "expire", "-i", Long.toString(other.id())).out()).isEqualTo("Node expired\n");
        assertThat(server.tailnet().node(other.id()).orElseThrow().isExpired(server.tailnet().now())).isTrue();
        assertThat(cli("nodes", "expire", "-i", Long.toString(other.id()), "--disable").out()).isEqualTo("Node expiry disabled\n");
        assertThat(server.tailnet().node(other.id()).orElseThrow().expiry()).isNull();

        changes.clear();
        Result del = cli("nodes", "delete", "-i", Long.toString(other.id()), "--force");
        assertThat(del.out()).isEqualTo("Node deleted\n");
        assertThat(server.tailnet().node(other.id())).isEmpty();
        assertThat(server.store().nodes().get(other.id())).isEmpty();
        assertThat(changes).contains(new Change(Change.Kind.REMOVED, other.id()));
        Result missing = cli("nodes", "delete", "-i", Long.toString(other.id()), "--force");
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).isEqualTo("node with id " + other.id() + " not found\n");
    }

    @Test
    void interactiveRegistrationByAuthIdOrNodeKey() throws Exception {
        cli("users", "create", "alice");
        User alice = user("alice");
        NodePrivateKey nk = NodePrivateKey.generate();
        RegisterResponse first = server.registrations().register(MachinePrivateKey.generate().publicKey(),
                RegisterRequest.builder().version(142).nodeKey(nk.publicKey()).hostinfo(hostinfo("tablet")).build())
                .toCompletableFuture().get();
        String authId = first.authUrl().substring(first.authUrl().lastIndexOf('/') + 1);
        assertThat(cli("auth", "register", "--auth-id", "nope", "--user", "alice").err()).contains("no pending registration");
        Result ok = cli("auth", "register", "--auth-id", authId, "--user", Long.toString(alice.id()));
        assertThat(ok.out()).isEqualTo("Node tablet registered\n");
        assertThat(server.tailnet().byNodeKey(nk.publicKey()).orElseThrow().userId()).isEqualTo(alice.id());

        NodePrivateKey nk2 = NodePrivateKey.generate();
        server.registrations().register(MachinePrivateKey.generate().publicKey(),
                RegisterRequest.builder().version(142).nodeKey(nk2.publicKey()).hostinfo(hostinfo("phone")).build())
                .toCompletableFuture().get();
        Result legacy = cli("nodes", "register", "--key", nk2.publicKey().toString(), "--user", "alice");
        assertThat(legacy.out()).isEqualTo("Node phone registered\n");
        assertThat(server.tailnet().byNodeKey(nk2.publicKey()).orElseThrow().registerMethod()).isEqualTo(RegisterMethod.CLI);
    }

    @Test
    void apiKeysCreateListExpire() throws Exception {
        Result c = cli("apikeys", "create");
        assertThat(c.out()).matches("lattice-api-[A-Za-z0-9_-]{12}-[A-Za-z0-9_-]{64}\n");
        String full = c.out().strip();
        var key = server.store().apiKeys().list().getFirst();
        assertThat(key.expiration()).isBetween(server.tailnet().now().plusSeconds(89 * 86400), server.tailnet().now().plusSeconds(91 * 86400));
        assertThat(cli("apikeys", "list").out()).contains(key.prefix()).doesNotContain(full);
        assertThat(server.adminApi().authenticate(full).id()).isEqualTo(key.id());

        assertThat(cli("apikeys", "expire", "--prefix", key.prefix()).out()).isEqualTo("Key expired\n");
        assertThat(server.store().apiKeys().get(key.id()).orElseThrow().isExpired(server.tailnet().now())).isTrue();
        assertThat(cli("apikeys", "expire").err()).contains("either --id or --prefix");
        assertThat(cli("apikeys", "delete", "--id", Long.toString(key.id())).out()).isEqualTo("Key deleted\n");
        assertThat(server.store().apiKeys().list()).isEmpty();
    }

    @Test
    void badFlagsAreOneLineErrors() {
        Result r = cli("nodes", "expire");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--identifier").hasLineCount(1);
        Result unknown = cli("users", "frobnicate");
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err()).hasLineCount(1);
        Result format = cli("-o", "xml", "users", "list");
        assertThat(format.code()).isEqualTo(2);
        assertThat(format.err()).isEqualTo(
                "unknown output format \"xml\": use json, json-line or yaml (see 'lattice-control users list --help')\n");
    }

    /** A valid policy (deny all) padded with a comment to exactly {@code bytes} bytes of UTF-8. */
    static String policyOfSize(int bytes) {
        String head = "{} // padding ";
        return head + "x".repeat(bytes - head.length() - 1) + "\n";
    }

    static final int LIMIT = 8 << 20;

    @Test
    void policiesUpToTheFileModeLimitGoThroughTheCliAndRestAndLargerOnesAreRefusedNamingTheLimit() throws Exception {
        server.close();
        int port = freePort();
        Files.writeString(configFile, config(dir, port, "unix_socket_permission: \"0770\"\npolicy:\n  mode: database\n"));
        server = ControlServer.start(ControlConfig.load(configFile));
        Path file = dir.resolve("policy.hujson");

        String atLimit = policyOfSize(LIMIT);
        Files.writeString(file, atLimit);
        Result check = cli("policy", "check", "-f", file.toString());
        assertThat(check.code()).as(check.err()).isZero();
        assertThat(check.out()).isEqualTo("Policy is valid\n");
        Result set = cli("policy", "set", "-f", file.toString());
        assertThat(set.code()).as(set.err()).isZero();
        assertThat(server.store().policy().get().orElseThrow().data()).isEqualTo(atLimit);

        // One byte over, and well over: the CLI says so in one line, naming the limit; nothing changes.
        Files.writeString(file, policyOfSize(LIMIT + 1));
        for (String cmd : List.of("check", "set")) {
            Result r = cli("policy", cmd, "-f", file.toString());
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).hasLineCount(1).contains("policy is 8388609 bytes; the limit is 8 MiB").doesNotContain("413");
        }
        Files.writeString(file, policyOfSize((int) (9.1 * (1 << 20))));
        for (String cmd : List.of("check", "set")) {
            Result r = cli("policy", cmd, "-f", file.toString());
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).hasLineCount(1).endsWith("policy is 9.1 MiB; the limit is 8 MiB\n");
        }
        // The server checks too (a client that does not): over the admin socket...
        AdminClient socket = new AdminClient(dir.resolve("run/lattice.sock"));
        for (String path : List.of("/api/v1/policy", "/api/v1/policy/check")) {
            assertThatThrownBy(() -> socket.call(path.endsWith("check") ? "POST" : "PUT", path,
                    JsonNodeFactory.instance.objectNode().put("policy", policyOfSize(LIMIT + 1))))
                    .isInstanceOf(CliException.class).hasMessageContaining("policy is 8388609 bytes; the limit is 8 MiB");
        }
        assertThat(server.store().policy().get().orElseThrow().data()).isEqualTo(atLimit);

        // ... and on the REST API, where a policy at the limit fits too (the front port's other bodies stay small).
        String key = server.adminApi().createApiKey(Instant.now().plusSeconds(3600)).fullKey();
        HttpClient http = HttpClient.newHttpClient();
        String small = "{} // via REST\n";
        for (String policy : List.of(small, atLimit)) {
            String body = policyBody(policy);
            HttpResponse<String> ok = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/policy"))
                    .header("Authorization", "Bearer " + key).PUT(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ok.statusCode()).as(ok.body().length() > 200 ? ok.body().substring(0, 200) : ok.body()).isEqualTo(200);
            assertThat(server.store().policy().get().orElseThrow().data()).isEqualTo(policy);
            HttpResponse<String> checked = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/policy/check"))
                    .header("Authorization", "Bearer " + key).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(checked.statusCode()).isEqualTo(200);
        }
        for (String path : List.of("/api/v1/policy", "/api/v1/policy/check")) {
            HttpResponse<String> over = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .header("Authorization", "Bearer " + key)
                    .method(path.endsWith("check") ? "POST" : "PUT", HttpRequest.BodyPublishers.ofString(
                            policyBody(policyOfSize((int) (9.1 * (1 << 20)))))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(over.statusCode()).isEqualTo(400);
            assertThat(Tailcfg.json().readTree(over.body()).get("message").asString()).endsWith("policy is 9.1 MiB; the limit is 8 MiB");
        }
        assertThat(server.store().policy().get().orElseThrow().data()).isEqualTo(atLimit);
        // Without a valid key a large body is not read at all: the key is checked from the request head.
        HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/policy"))
                .header("Authorization", "Bearer lattice-api-nope").PUT(HttpRequest.BodyPublishers.ofString(
                        policyBody(small + "//" + "y".repeat(1 << 20)))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(server.store().policy().get().orElseThrow().data()).isEqualTo(atLimit);
    }

    /** A policy file over the limit keeps a file-mode server from starting, with the same message. */
    @Test
    void fileModeRefusesAPolicyOverTheLimitWithTheSameMessage() throws Exception {
        server.close();
        server = null;
        Path file = dir.resolve("policy.hujson");
        Files.writeString(file, policyOfSize((int) (9.1 * (1 << 20))));
        Files.writeString(configFile, config(dir, freePort(), "policy:\n  mode: file\n  path: " + file + "\n"));
        assertThatThrownBy(() -> ControlServer.start(ControlConfig.load(configFile)))
                .hasMessageContaining("policy is 9.1 MiB; the limit is 8 MiB");
        Files.writeString(file, policyOfSize(LIMIT));
        server = ControlServer.start(ControlConfig.load(configFile));
        assertThat(server.policy().current().text()).hasSize(LIMIT);
    }

    /** JSON for a policy request body. */
    static String policyBody(String policy) {
        return Tailcfg.json().writeValueAsString(JsonNodeFactory.instance.objectNode().put("policy", policy));
    }

    @Test
    void usersListShowsTheIdentityAtTheProviderForUsersWhoLogInThroughOidc() throws Exception {
        server.store().users().create("dana", "Dana", "dana@example.com", "oidc", "https://idp.example.com/realms/x/4f2a");
        server.tailnet().reload();
        Result table = cli("users", "list");
        assertThat(table.code()).isZero();
        assertThat(header(table.out())).endsWith("Provider");
        assertThat(table.out().lines().filter(l -> l.contains("dana")).findFirst().orElseThrow())
                .contains("https://idp.example.com/realms/x/4f2a");
    }

    @Test
    void withoutAServerTheCliSaysSo() throws Exception {
        server.close();
        server = null;
        Result r = cli("users", "list");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("cannot reach lattice-control at " + dir.resolve("run/lattice.sock") + ": is the server running?\n");
    }

    /** The port in "listening on 127.0.0.1:PORT" must be the server_url's. */
    static String server_port(String help) {
        var m = java.util.regex.Pattern.compile("running: http://127\\.0\\.0\\.1:(\\d+)").matcher(help);
        return m.find() ? m.group(1) : "?";
    }

    @Test
    void serveRunsUntilInterruptedAndPrintsHowToJoin() throws Exception {
        server.close();
        server = null;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread t = Thread.ofPlatform().start(() -> ControlCli.run(new String[] {"-c", configFile.toString(), "serve"},
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err, new ByteArrayInputStream(new byte[0])));
        Path sock = dir.resolve("run/lattice.sock");
        for (int i = 0; i < 200 && !out.toString(StandardCharsets.UTF_8).contains("tailscale up"); i++) Thread.sleep(50);
        String help = out.toString(StandardCharsets.UTF_8);
        assertThat(help).contains("lattice-control -c " + configFile + " users create NAME")
                .contains("preauthkeys create --user NAME")
                .contains("tailscale up --login-server http://127.0.0.1:")
                .contains("(listening on 127.0.0.1:" + server_port(help))
                .doesNotContain("on /127.0.0.1").doesNotContain("bin/latticed");
        assertThat(cli("users", "create", "carol").code()).isZero();
        t.interrupt();
        t.join(10_000);
        assertThat(t.isAlive()).isFalse();
        assertThat(sock).doesNotExist();
    }

    // ---- Headscale's remaining commands ----

    String waitingRegistration(String hostname, java.util.concurrent.atomic.AtomicReference<RegisterResponse> followup) throws Exception {
        MachinePrivateKey mk = MachinePrivateKey.generate();
        NodePrivateKey nk = NodePrivateKey.generate();
        RegisterResponse first = server.registrations().register(mk.publicKey(),
                RegisterRequest.builder().version(142).nodeKey(nk.publicKey()).hostinfo(hostinfo(hostname)).build())
                .toCompletableFuture().get();
        if (followup != null) {
            // The client's follow-up request, which waits for the admin's verdict.
            server.registrations().register(mk.publicKey(), RegisterRequest.builder().version(142).nodeKey(nk.publicKey())
                    .hostinfo(hostinfo(hostname)).followup(first.authUrl()).build()).thenAccept(followup::set);
        }
        return first.authUrl().substring(first.authUrl().lastIndexOf('/') + 1);
    }

    @Test
    void authRejectTellsTheWaitingClientAndApproveNeedsAUser() throws Exception {
        cli("users", "create", "alice");
        var told = new java.util.concurrent.atomic.AtomicReference<RegisterResponse>();
        String authId = waitingRegistration("tablet", told);

        Result approve = cli("auth", "approve", "--auth-id", authId);
        assertThat(approve.code()).isEqualTo(1);
        assertThat(approve.err()).isEqualTo("auth id " + authId + " is a node registration: complete it with 'auth register --auth-id "
                + authId + " --user USER'\n");
        Result unknown = cli("auth", "approve", "--auth-id", "nothing-here");
        assertThat(unknown.err()).isEqualTo("no pending auth session for auth_id nothing-here\n");

        Result reject = cli("auth", "reject", "--auth-id", authId);
        assertThat(reject.code()).isZero();
        assertThat(reject.out()).isEqualTo("Auth request rejected\n");
        for (int i = 0; i < 100 && told.get() == null; i++) Thread.sleep(20);
        assertThat(told.get().error()).isEqualTo("auth request rejected");
        assertThat(cli("auth", "register", "--auth-id", authId, "--user", "alice").err()).contains("no pending registration");
        assertThat(cli("auth", "reject", "--auth-id", authId).err()).isEqualTo("no pending auth session for auth_id " + authId + "\n");
        assertThat(cli("-o", "json", "auth", "reject", "--auth-id", waitingRegistration("phone", null)).out()).isEqualTo("{}\n");
        assertThat(server.tailnet().nodes()).isEmpty();
    }

    @Test
    void debugCreateNodeWaitsForAuthRegister() throws Exception {
        cli("users", "create", "alice");
        Result created = cli("debug", "create-node", "--name", "fake", "--user", "alice", "--key", "debug-1", "--route", "10.9.0.0/16");
        assertThat(created.code()).as(created.err()).isZero();
        assertThat(created.out()).isEqualTo("Node created\n");
        assertThat(server.tailnet().nodes()).isEmpty();
        assertThat(cli("debug", "create-node", "--name", "fake", "--user", "alice", "--key", "debug-1").err())
                .contains("already waiting");
        assertThat(cli("auth", "register", "--auth-id", "debug-1", "--user", "alice").out()).isEqualTo("Node fake registered\n");
        TailnetNode n = server.tailnet().nodes().getFirst();
        assertThat(n.hostname()).isEqualTo("fake");
        assertThat(server.nodes().activeRoutes(n)).isEmpty();
        assertThat(server.adminApi().node(n.id()).availableRoutes()).containsExactly(IpPrefix.parse("10.9.0.0/16"));
    }

    @Test
    void backfillIpsGivesNodesTheFamiliesTheConfigNames() throws Exception {
        server.close();
        int port = freePort();
        Files.writeString(configFile, config(dir, port, "prefixes:\n  v4: 100.64.0.0/10\n"));
        server = ControlServer.start(ControlConfig.load(configFile));
        cli("users", "create", "alice");
        String key = cli("preauthkeys", "create", "--user", "alice").out().strip();
        TailnetNode before = registerWithKey(key, "laptop");
        assertThat(before.ipv6()).isNull();
        server.close();
        Files.writeString(configFile, config(dir, port, "prefixes:\n  v4: 100.64.0.0/10\n  v6: fd7a:115c:a1e0::/48\n"));
        server = ControlServer.start(ControlConfig.load(configFile));

        assertThat(cliWithInput("n\n", "nodes", "backfillips").out()).isEmpty();
        assertThat(server.tailnet().node(before.id()).orElseThrow().ipv6()).as("not confirmed").isNull();
        Result r = cli("nodes", "backfillips", "--force");
        assertThat(r.code()).as(r.err()).isZero();
        TailnetNode after = server.tailnet().node(before.id()).orElseThrow();
        assertThat(after.ipv6()).isNotNull();
        assertThat(after.ipv4()).isEqualTo(before.ipv4());
        assertThat(r.out()).isEqualTo("assigned IPv6 \"" + IpPrefix.format(after.ipv6()) + "\" to Node(" + after.id()
                + ") \"laptop\"\nNode IPs backfilled successfully\n");
        assertThat(server.store().nodes().get(after.id()).orElseThrow().ipv6()).as("stored").isEqualTo(after.ipv6());
        assertThat(cli("-o", "json-line", "nodes", "backfillips", "--force").out()).as("nothing left to do").isEqualTo("{}\n");
    }

    @Test
    void versionHealthGenerateAndConfigtest() throws Exception {
        assertThat(cli("version").out()).startsWith("lattice-control version ");
        assertThat(cli("-o", "json", "version").out()).contains("\"version\": ");
        Result health = cli("health");
        assertThat(health.code()).isZero();
        assertThat(health.out()).isEqualTo("healthy: the database answers\n");
        assertThat(cli("-o", "json-line", "health").out()).isEqualTo("{\"database_connectivity\":true}\n");
        assertThat(cli("generate", "private-key").out()).matches("privkey:[0-9a-f]{64}\n");
        assertThat(cli("gen", "private-key", "-o", "json").out()).matches("\\{\n\t\"private_key\": \"privkey:[0-9a-f]{64}\"\n}\n");

        Result ok = cli("configtest");
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).isEqualTo("configuration is valid\n");
        Path policy = dir.resolve("policy.hujson");
        Files.writeString(policy, "{\"acls\": [ {\"action\": \"accept\", ");
        Files.writeString(configFile, Files.readString(configFile) + "policy:\n  path: " + policy + "\n");
        Result bad = cli("configtest");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).startsWith("configuration error: policy.path: ").hasLineCount(1);
        Files.writeString(configFile, Files.readString(configFile) + "bogus_key: 1\n");
        assertThat(cli("configtest").err()).startsWith("config: bogus_key: unknown key");
    }
}
