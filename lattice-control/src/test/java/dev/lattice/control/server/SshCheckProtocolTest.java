package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.admin.AdminException;
import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.oidc.Browser;
import dev.lattice.control.oidc.FakeIdp;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.controlclient.ControlChannel;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Tailscale SSH's {@code check} rules over ts2021, as Headscale answers {@code /machine/ssh/action}: the destination
 * node's first request holds and names a login URL; its follow-up waits until the source's owner logs in (OIDC) or
 * an admin approves or rejects; a pass lets later connections in for the rule's checkPeriod. Only the destination
 * may ask, a check answers only for its own pair, and the period comes from the policy.
 */
@Timeout(90)
class SshCheckProtocolTest {
    static final String POLICY = """
            {
              "tagOwners": {"tag:server": ["alice@"], "tag:always": ["alice@"]},
              "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
              "ssh": [
                {"action": "check", "src": ["autogroup:member"], "dst": ["tag:server"], "users": ["root"], "checkPeriod": "1h"},
                {"action": "check", "src": ["autogroup:member"], "dst": ["tag:always"], "users": ["root"], "checkPeriod": "always"}
              ]
            }
            """;

    @TempDir
    Path dir;
    ControlServer server;
    FakeIdp idp;
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
        if (idp != null) idp.close();
    }

    /** alice's laptop, a server tagged {@code tag}, registered and known to the server. */
    record Tailnet(TestMachine laptop, TestMachine target, TailnetNode laptopNode, TailnetNode targetNode) implements AutoCloseable {
        @Override
        public void close() {
            laptop.close();
            target.close();
        }
    }

    Tailnet start(String extraYaml, User owner, String tag) throws Exception {
        PolicyTailnet started = PolicyTailnet.start(dir, POLICY, extraYaml);
        server = started.server(); // closed after the test
        String aliceKey = started.aliceKey();
        String ownerKey = owner == null ? aliceKey
                : server.store().preAuthKeys().create(owner.id(), true, false, List.of(), Instant.now().plusSeconds(600)).fullKey();
        URI url = server.config().serverUrl();
        TestMachine laptop = new TestMachine(group, url, "laptop");
        TestMachine target = new TestMachine(group, url, "target");
        target.hostinfoExtra = h -> h.withRequestTags(List.of(tag));
        assertThat(laptop.register(ownerKey).error()).isNull();
        assertThat(target.register(aliceKey).error()).isNull();
        return new Tailnet(laptop, target, node("laptop"), node("target"));
    }

    TailnetNode node(String name) {
        return server.tailnet().nodes().stream().filter(n -> n.hostname().equals(name)).findFirst().orElseThrow();
    }

    static CompletableFuture<ControlChannel.Response> ask(TestMachine m, long src, long dst, String authId) {
        return m.channel.request(HttpMethod.GET, "/machine/ssh/action/" + src + "/to/" + dst + "?local_user=root"
                + (authId == null ? "" : "&auth_id=" + authId), new byte[0]);
    }

    static JsonNode action(CompletableFuture<ControlChannel.Response> f) throws Exception {
        ControlChannel.Response r = f.get(40, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.bodyText()).isEqualTo(200);
        return Tailcfg.json().readTree(r.body());
    }

    /** The first request's answer: hold, with the login URL in the message; returns the check's auth id. */
    String holds(Tailnet t) throws Exception {
        JsonNode a = action(ask(t.target(), t.laptopNode().id(), t.targetNode().id(), null));
        assertThat(a.has("accept")).as(a.toString()).isFalse();
        String hold = a.get("holdAndDelegate").asString();
        assertThat(hold).startsWith(server.config().serverUrl() + "/machine/ssh/action/$SRC_NODE_ID/to/$DST_NODE_ID?local_user=$LOCAL_USER&auth_id=");
        String id = hold.substring(hold.indexOf("auth_id=") + "auth_id=".length());
        assertThat(a.get("message").asString()).contains("To authenticate, visit: " + server.config().serverUrl() + "/auth/" + id);
        return id;
    }

    @Test
    void aCheckHoldsUntilAnAdminApprovesAndThenLetsThePairInForItsPeriod() throws Exception {
        try (Tailnet t = start("", null, "tag:server")) {
            String id = holds(t);
            CompletableFuture<ControlChannel.Response> followUp = ask(t.target(), t.laptopNode().id(), t.targetNode().id(), id);
            Thread.sleep(500);
            assertThat(followUp).as("waits for the verdict").isNotDone();

            server.adminApi().authApprove(id);

            JsonNode a = action(followUp);
            assertThat(a.get("accept").asBoolean()).as(a.toString()).isTrue();
            assertThat(a.get("allowAgentForwarding").asBoolean()).isTrue();
            JsonNode again = action(ask(t.target(), t.laptopNode().id(), t.targetNode().id(), null));
            assertThat(again.path("accept").asBoolean()).as("within the hour: no new check: " + again).isTrue();
            assertThatThrownBy(() -> server.adminApi().authApprove(id)).isInstanceOf(AdminException.class)
                    .hasMessageContaining("no pending auth session");
        }
    }

    @Test
    void aRejectedCheckRefusesAndAlwaysChecksEveryConnection() throws Exception {
        try (Tailnet t = start("", null, "tag:always")) {
            String id = holds(t);
            server.adminApi().authReject(id);
            JsonNode refused = action(ask(t.target(), t.laptopNode().id(), t.targetNode().id(), id));
            assertThat(refused.get("reject").asBoolean()).isTrue();
            assertThat(refused.has("accept")).isFalse();

            String second = holds(t);
            server.adminApi().authApprove(second);
            assertThat(action(ask(t.target(), t.laptopNode().id(), t.targetNode().id(), second)).get("accept").asBoolean()).isTrue();
            assertThat(holds(t)).as("checkPeriod always: the next connection is checked again").isNotEqualTo(second);
        }
    }

    @Test
    void onlyTheDestinationMayAskAndACheckAnswersOnlyForItsOwnPair() throws Exception {
        try (Tailnet t = start("", null, "tag:server")) {
            long src = t.laptopNode().id(), dst = t.targetNode().id();
            assertThat(ask(t.laptop(), src, dst, null).get(10, TimeUnit.SECONDS).status()).as("another machine asks").isEqualTo(401);
            assertThat(ask(t.target(), src, 9999, null).get(10, TimeUnit.SECONDS).status()).as("unknown destination").isEqualTo(404);
            String id = holds(t);
            assertThat(ask(t.target(), dst, dst, id).get(10, TimeUnit.SECONDS).status()).as("the check's id for another pair").isEqualTo(401);
            assertThat(ask(t.target(), 9999, dst, "AAAAAAAAAAAAAAAAAAAAAAAA").get(10, TimeUnit.SECONDS).status())
                    .as("an unknown check where no rule applies").isEqualTo(400);
            JsonNode redelegated = action(ask(t.target(), src, dst, "AAAAAAAAAAAAAAAAAAAAAAAA"));
            assertThat(redelegated.get("holdAndDelegate").asString()).as("an unknown check where a rule applies starts over")
                    .contains("auth_id=").doesNotContain("AAAAAAAAAAAAAAAAAAAAAAAA");
            assertThat(t.target().channel.request(HttpMethod.POST, "/machine/ssh/action/" + src + "/to/" + dst, new byte[0])
                    .get(10, TimeUnit.SECONDS).status()).isEqualTo(405);
            assertThat(ask(t.target(), src, dst, id)).as("the check itself still waits").isNotDone();

            int refused = 0;
            for (int i = 0; i < 70 && refused == 0; i++) {
                int status = ask(t.target(), src, dst, null).get(10, TimeUnit.SECONDS).status();
                if (status == 429) refused = i;
            }
            assertThat(refused).as("a node asking in a loop is stopped at 64 waiting checks").isBetween(60, 64);

            Browser.Page page = new Browser().get(server.config().serverUrl().resolve("/auth/" + id));
            assertThat(page.body()).as("without OIDC the page names the admin's command")
                    .contains("lattice-control auth approve --auth-id " + id);
        }
    }

    @Test
    void theSourcesOwnerPassesTheCheckByLoggingInAndNobodyElseDoes() throws Exception {
        idp = new FakeIdp();
        String oidc = "oidc:\n  issuer: " + idp.issuer + "\n  client_id: lattice\n  client_secret: s3cr3t-value\n";
        // dana (the provider's user-1) owns the laptop; the server is alice's.
        ControlConfig probe = ControlConfig.parse(TestServer.yaml(dir, TestServer.freePort(), false) + oidc, dir);
        assertThat(probe.oidc().enabled()).isTrue();
        String danaId = idp.issuer.toString().replaceAll("/$", "") + "/user-1";
        try (Tailnet t = startWithOwner(oidc, danaId)) {
            String id = holds(t);
            CompletableFuture<ControlChannel.Response> followUp = ask(t.target(), t.laptopNode().id(), t.targetNode().id(), id);

            Browser.Page eve = login(new Browser(), id, "user-2", "eve");
            assertThat(eve.status()).isEqualTo(403);
            assertThat(eve.body()).contains("belongs to someone else");
            Thread.sleep(300);
            assertThat(followUp).as("eve's login decides nothing").isNotDone();

            Browser.Page dana = login(new Browser(), id, "user-1", "dana");
            assertThat(dana.status()).as(dana.body()).isEqualTo(200);
            assertThat(dana.body()).contains("SSH check passed");
            assertThat(action(followUp).get("accept").asBoolean()).isTrue();
            assertThat(login(new Browser(), id, "user-1", "dana").status()).as("a decided check cannot be logged into again").isEqualTo(410);
        }
    }

    @Test
    void aCheckWaitingOnReplicaAIsDecidedByAnAdminOnReplicaB() throws Exception {
        try (ReplicaPair r = ReplicaPair.start(dir, "policy:\n  mode: database\n")) {
            User alice = r.alice();
            r.a.adminApi().setPolicy(POLICY);
            String key = r.authKey(alice);
            TestMachine laptop = r.register(r.a, "laptop", key);
            TestMachine target = r.machine(r.a, "target");
            target.hostinfoExtra = h -> h.withRequestTags(List.of("tag:server"));
            assertThat(target.register(key).machineAuthorized()).isTrue();
            server = r.a; // holds() reads the server URL from here
            long src = r.a.tailnet().nodes().stream().filter(n -> n.hostname().equals("laptop")).findFirst().orElseThrow().id();
            long dst = r.a.tailnet().nodes().stream().filter(n -> n.hostname().equals("target")).findFirst().orElseThrow().id();
            String id = holds(new Tailnet(laptop, target, r.a.tailnet().node(src).orElseThrow(), r.a.tailnet().node(dst).orElseThrow()));
            CompletableFuture<ControlChannel.Response> followUp = ask(target, src, dst, id);

            r.b.adminApi().authApprove(id);

            assertThat(action(followUp).get("accept").asBoolean()).isTrue();
        } finally {
            server = null; // the pair closes its replicas
        }
    }

    Tailnet startWithOwner(String oidc, String providerId) throws Exception {
        // The owner must exist before the server registers the laptop for them: made as the OIDC login makes users.
        server = ControlServer.start(ControlConfig.parse(TestServer.yaml(dir, TestServer.freePort(), false)
                + "policy:\n  mode: database\n" + oidc, dir));
        User dana = server.store().users().upsertFromProvider(User.PROVIDER_OIDC, providerId, List.of("dana"), "Dana", "dana@example.com",
                null, List.of());
        server.close();
        server = null;
        return start(oidc, dana, "tag:server");
    }

    Browser.Page login(Browser browser, String authId, String subject, String name) throws Exception {
        URI start = server.config().serverUrl().resolve("/auth/" + authId);
        var first = browser.raw(start);
        if (first.statusCode() / 100 != 3) return new Browser.Page(first.statusCode(), start, first.body());
        URI toIdp = start.resolve(first.headers().firstValue("Location").orElseThrow());
        Map<String, List<String>> q = new QueryStringDecoder(toIdp).parameters();
        idp.nextToken = idp.sign(idp.claims(q.get("nonce").getFirst(), c -> c.subject(subject).claim("preferred_username", name)
                .claim("email", name + "@example.com")), idp.signing);
        return browser.get(server.config().serverUrl().resolve("/oidc/callback?code=c-1&state=" + q.get("state").getFirst()));
    }
}
