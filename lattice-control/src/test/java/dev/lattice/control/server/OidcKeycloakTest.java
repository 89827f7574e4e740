package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.oidc.Browser;
import dev.lattice.control.oidc.Keycloak;
import dev.lattice.control.store.RegisterMethod;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.controlclient.ControlChannel;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenID Connect login against a real Keycloak, the client's side spoken over ts2021 as tailscale does
 * ({@code tailscale up} without a key: an auth URL, then a follow-up request that waits), the person's side by a
 * browser that fills in Keycloak's login form and presses Lattice's confirmation button. One Keycloak for the class.
 */
@Timeout(120)
class OidcKeycloakTest {
    static Keycloak keycloak;

    @BeforeAll
    static void startKeycloak(@TempDir Path kcDir) throws Exception {
        keycloak = Keycloak.start(kcDir);
    }

    @AfterAll
    static void stopKeycloak() {
        if (keycloak != null) keycloak.close();
    }

    @TempDir
    Path dir;
    ControlServer server;
    EventLoopGroup group;
    URI url;

    @BeforeEach
    void group() {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterEach
    void stop() {
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
    }

    void start(String yaml) throws Exception {
        if (server != null) server.close();
        server = ControlServer.start(TestServer.config(dir, yaml));
        url = server.config().serverUrl();
    }

    /** A client waiting on its interactive registration: the URL it printed, and its held follow-up request. */
    record Waiting(String authUrl, CompletableFuture<ControlChannel.Response> followup) {
        RegisterResponse outcome() throws Exception {
            return Tailcfg.json().readValue(followup.get(10, TimeUnit.SECONDS).body(), RegisterResponse.class);
        }
    }

    Waiting begin(TestMachine m) throws Exception {
        RegisterResponse first = m.register(null);
        assertThat(first.authUrl()).startsWith(url + "/register/");
        var followup = RegisterRequest.builder().version(142).nodeKey(m.nodeKey.publicKey()).hostinfo(m.hostinfo())
                .followup(first.authUrl()).build();
        return new Waiting(first.authUrl(), m.channel.request(HttpMethod.POST, "/machine/register", Tailcfg.json().writeValueAsBytes(followup)));
    }

    /** Opens the URL, logs in at Keycloak (unless its session is still alive): Lattice's page after the callback. */
    static Browser.Page login(Browser b, String authUrl, String user) throws Exception {
        return b.login(b.get(URI.create(authUrl)), user, user + "-pw");
    }

    static Browser.Page confirm(Browser b, Browser.Page page) throws Exception {
        assertThat(page.status()).as(page.body()).isEqualTo(200);
        assertThat(page.body()).contains("Register this device?");
        return b.submit(page.form("/register/confirm/"), Map.of());
    }

    /** The node the machine's current node key belongs to. */
    Optional<TailnetNode> node(TestMachine m) {
        return server.tailnet().byNodeKey(m.nodeKey.publicKey());
    }

    User user(String name) {
        return server.store().users().byName(name).orElseThrow(() -> new AssertionError("no user " + name));
    }

    @Test
    void aLoginAtTheIdentityProviderRegistersTheNodeToTheUserItNames() throws Exception {
        start(keycloak.oidcYaml());
        try (TestMachine m = new TestMachine(group, url, "laptop")) {
            Waiting w = begin(m);
            Browser b = new Browser();
            Browser.Page confirmPage = login(b, w.authUrl(), "alice");
            assertThat(confirmPage.url().getPath()).isEqualTo("/oidc/callback");
            assertThat(confirmPage.body()).contains("Alice Liddell").contains("laptop");
            // Until the button is pressed nothing is registered (Headscale's interstitial), and the client still waits.
            assertThat(node(m)).isEmpty();
            assertThat(w.followup()).isNotDone();

            Browser.Page done = confirm(b, confirmPage);
            assertThat(done.status()).isEqualTo(200);
            assertThat(done.body()).contains("Device registered").contains("Alice Liddell");
            RegisterResponse r = w.outcome();
            assertThat(r.machineAuthorized()).isTrue();
            assertThat(r.login().loginName()).isEqualTo("alice@example.com");
            assertThat(r.login().provider()).isEqualTo("oidc");

            User alice = user("alice");
            assertThat(alice.provider()).isEqualTo("oidc");
            assertThat(alice.providerId()).startsWith(keycloak.issuer() + "/").hasSizeGreaterThan(keycloak.issuer().toString().length() + 10);
            assertThat(alice.email()).isEqualTo("alice@example.com");
            assertThat(alice.displayName()).isEqualTo("Alice Liddell");
            assertThat(alice.groups()).containsExactlyInAnyOrder("lattice-users", "eng");
            TailnetNode n = node(m).orElseThrow();
            assertThat(n.userId()).isEqualTo(alice.id());
            assertThat(n.registerMethod()).isEqualTo(RegisterMethod.OIDC);
            assertThat(n.expiry()).as("node.expiry 0 and use_expiry_from_token off: no expiry").isNull();

            // The confirmation cannot be replayed (its cookie was cleared, the registration is done): nothing changes.
            Browser.Page again = b.submit(confirmPage.form("/register/confirm/"), Map.of());
            assertThat(again.status()).isIn(403, 410);
            assertThat(again.body()).contains("Nothing was registered");
            assertThat(server.tailnet().nodes()).hasSize(1);
        }
    }

    @Test
    void allowedDomainsUsersAndGroupsAdmitOrTurnAway() throws Exception {
        start(keycloak.oidcYaml("allowed_domains: [example.com]", "allowed_groups: [lattice-users]"));
        // mallory: another domain, no group. carol: in the group, but her email is not verified.
        for (String who : List.of("mallory", "carol")) {
            try (TestMachine m = new TestMachine(group, url, who + "-pc")) {
                Waiting w = begin(m);
                Browser.Page p = login(new Browser(), w.authUrl(), who);
                assertThat(p.status()).as(who).isEqualTo(403);
                assertThat(p.body()).contains("You are not allowed to join this network").contains("Nothing was registered")
                        .doesNotContain("Exception").doesNotContain(Keycloak.SECRET);
                assertThat(p.body()).contains(who.equals("mallory") ? "not a member of a group" : "not verified");
                assertThat(node(m)).isEmpty();
                assertThat(server.store().users().byName(who)).as("a denied login creates no user").isEmpty();
                assertThat(w.followup()).isNotDone();
            }
        }
        try (TestMachine m = new TestMachine(group, url, "bob-pc")) {
            Waiting w = begin(m);
            Browser b = new Browser();
            assertThat(confirm(b, login(b, w.authUrl(), "bob")).status()).isEqualTo(200);
            assertThat(w.outcome().machineAuthorized()).isTrue();
        }

        start(keycloak.oidcYaml("allowed_users: [bob@example.com]"));
        try (TestMachine m = new TestMachine(group, url, "alice-pc")) {
            Waiting w = begin(m);
            Browser.Page p = login(new Browser(), w.authUrl(), "alice");
            assertThat(p.status()).isEqualTo(403);
            assertThat(p.body()).contains("Your account is not allowed");
            assertThat(node(m)).isEmpty();
        }
    }

    @Test
    void pkceIsSentWhenEnabledAndAProviderThatDemandsItRefusesALoginWithout() throws Exception {
        start(keycloak.oidcYamlFor(Keycloak.PKCE_CLIENT, Keycloak.PKCE_SECRET, "pkce:", "  enabled: true", "  method: S256"));
        try (TestMachine m = new TestMachine(group, url, "pkce-on")) {
            Waiting w = begin(m);
            Browser b = new Browser();
            URI idp = b.redirectTarget(URI.create(w.authUrl()));
            assertThat(idp.getQuery()).contains("code_challenge_method=S256").contains("code_challenge=");
            assertThat(confirm(b, login(b, w.authUrl(), "alice")).status()).isEqualTo(200);
            assertThat(w.outcome().machineAuthorized()).isTrue();
        }

        start(keycloak.oidcYamlFor(Keycloak.PKCE_CLIENT, Keycloak.PKCE_SECRET));
        try (TestMachine m = new TestMachine(group, url, "pkce-off")) {
            Waiting w = begin(m);
            Browser b = new Browser();
            Browser.Page p = b.get(URI.create(w.authUrl()));
            // Keycloak sends the browser back with error=invalid_request, or shows its own error page.
            assertThat(p.status()).isNotEqualTo(200);
            if (p.url().getPath().equals("/oidc/callback")) assertThat(p.body()).contains("reported invalid_request");
            assertThat(node(m)).isEmpty();
        }
    }

    @Test
    void aCallbackWithAnotherStateOrFromAnotherBrowserOrAgainRegistersNothing() throws Exception {
        start(keycloak.oidcYaml());
        try (TestMachine m = new TestMachine(group, url, "victim")) {
            Waiting w = begin(m);
            Browser b = new Browser();
            Browser.Page form = b.get(URI.create(w.authUrl()));
            // Log in at Keycloak, but stop at its redirect to our callback.
            URI callback = b.submitForRedirect(form.form("kc-form-login"), Map.of("username", "alice", "password", "alice-pw"));
            assertThat(callback.getPath()).isEqualTo("/oidc/callback");

            // Another browser (the attacker's, no state cookie) cannot use it.
            HttpResponse<String> stolen = new Browser().raw(callback);
            assertThat(stolen.statusCode()).isEqualTo(403);
            assertThat(stolen.body()).contains("not started in this browser").contains("Nothing was registered");
            // A forged state is refused too.
            String forged = callback.toString().replaceAll("state=[^&]+", "state=AAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            assertThat(b.raw(URI.create(forged)).statusCode()).isEqualTo(403);
            // The real one works once...
            Browser.Page confirmPage = b.get(callback);
            assertThat(confirmPage.status()).isEqualTo(200);
            // ...and not again: its state was spent (and its cookie cleared).
            HttpResponse<String> replay = b.raw(callback);
            assertThat(replay.statusCode()).isIn(403, 410);
            assertThat(replay.body()).contains("Nothing was registered");
            assertThat(node(m)).isEmpty();
            confirm(b, confirmPage);
            assertThat(w.outcome().machineAuthorized()).isTrue();
            assertThat(server.tailnet().nodes()).hasSize(1);
        }
    }

    @Test
    void theTokensExpiryBecomesTheNodesWithUseExpiryFromToken() throws Exception {
        start(keycloak.oidcYaml("use_expiry_from_token: true") + "node:\n  expiry: 180d\n");
        try (TestMachine m = new TestMachine(group, url, "short-lived")) {
            Waiting w = begin(m);
            Browser b = new Browser();
            Instant before = Instant.now();
            confirm(b, login(b, w.authUrl(), "bob"));
            assertThat(w.outcome().machineAuthorized()).isTrue();
            // The realm's tokens live 300 s; node.expiry (180 days) is not used.
            Instant expiry = node(m).orElseThrow().expiry();
            assertThat(expiry).isBetween(before.plusSeconds(240), Instant.now().plusSeconds(301));
        }
    }

    @Test
    void loggingInAgainKeepsTheNodeAndAnotherUserTakesItOver() throws Exception {
        start(keycloak.oidcYaml());
        try (TestMachine m = new TestMachine(group, url, "shared-pc")) {
            Browser aliceBrowser = new Browser();
            Waiting w = begin(m);
            confirm(aliceBrowser, login(aliceBrowser, w.authUrl(), "alice"));
            assertThat(w.outcome().machineAuthorized()).isTrue();
            TailnetNode first = node(m).orElseThrow();

            // tailscale up --force-reauth: a new node key, the same machine; Keycloak's session skips its form.
            m.nodeKey = NodePrivateKey.generate();
            w = begin(m);
            Browser.Page p = login(aliceBrowser, w.authUrl(), "alice");
            Browser.Page done = confirm(aliceBrowser, p);
            assertThat(done.body()).contains("Device reauthenticated");
            assertThat(w.outcome().machineAuthorized()).isTrue();
            TailnetNode again = node(m).orElseThrow();
            assertThat(again.id()).isEqualTo(first.id());
            assertThat(again.ipv4()).isEqualTo(first.ipv4());
            assertThat(again.ipv6()).isEqualTo(first.ipv6());
            assertThat(again.nodeKey()).isEqualTo(m.nodeKey.publicKey());
            assertThat(again.userId()).isEqualTo(user("alice").id());

            // Bob logs in on the same machine (tailscale's fast user switching): a node of his own; Alice's stays hers.
            m.nodeKey = NodePrivateKey.generate();
            w = begin(m);
            Browser bobBrowser = new Browser();
            Browser.Page bobDone = confirm(bobBrowser, login(bobBrowser, w.authUrl(), "bob"));
            assertThat(bobDone.body()).doesNotContain("reauthenticated");
            assertThat(w.outcome().user().id()).isEqualTo(user("bob").id());
            TailnetNode bobs = node(m).orElseThrow();
            assertThat(bobs.id()).isNotEqualTo(first.id());
            assertThat(bobs.ipv4()).isNotEqualTo(first.ipv4());
            assertThat(bobs.userId()).isEqualTo(user("bob").id());
            assertThat(server.tailnet().node(first.id())).get().satisfies(a -> {
                assertThat(a.userId()).isEqualTo(user("alice").id());
                assertThat(a.nodeKey()).isEqualTo(again.nodeKey());
            });
            assertThat(server.tailnet().byMachineKey(m.machineKey.publicKey())).extracting(TailnetNode::id)
                    .containsExactly(first.id(), bobs.id());
        }
    }

    @Test
    void anIdentityProviderGroupInThePolicyGrantsAccessAndLosingItRevokesAtTheNextLogin() throws Exception {
        java.nio.file.Path policy = dir.resolve("policy.hujson");
        java.nio.file.Files.writeString(policy, """
                // Keycloak's group eng, as the groups claim names it, opens ssh on every node.
                {"groups": {"group:eng": ["oidc-group:eng"]},
                 "acls": [{"action": "accept", "src": ["group:eng"], "dst": ["*:22"]}]}
                """);
        start(keycloak.oidcYaml() + "policy:\n  mode: file\n  path: " + policy + "\n");
        User ops = server.store().users().create("ops", "Ops", "ops@example.com");
        server.tailnet().announceFull();
        String key = server.store().preAuthKeys().create(ops.id(), true, false, List.of(), Instant.now().plusSeconds(3600)).fullKey();
        try (TestMachine srv = new TestMachine(group, url, "srv"); TestMachine laptop = new TestMachine(group, url, "alice-laptop")) {
            srv.register(key);
            srv.openStream();
            srv.awaitView(Duration.ofSeconds(5), v -> v.self != null && v.filter.isEmpty());

            Browser b = new Browser();
            Waiting w = begin(laptop);
            confirm(b, login(b, w.authUrl(), "alice"));
            assertThat(w.outcome().machineAuthorized()).isTrue();
            String aliceIp = node(laptop).orElseThrow().ipv4().getHostAddress();
            srv.awaitView(Duration.ofSeconds(5), v -> v.sources().stream().anyMatch(s -> s.contains(aliceIp)));

            keycloak.leaveGroup("alice", "eng");
            try {
                // Nothing changes until alice logs in again; then her groups claim no longer has eng.
                laptop.nodeKey = NodePrivateKey.generate();
                w = begin(laptop);
                confirm(b, login(b, w.authUrl(), "alice"));
                assertThat(w.outcome().machineAuthorized()).isTrue();
                assertThat(user("alice").groups()).doesNotContain("eng");
                srv.awaitView(Duration.ofSeconds(5), v -> v.filter.isEmpty());
            } finally {
                keycloak.joinGroup("alice", "eng");
            }
        }
    }

    @Test
    void anUnknownOrFinishedRegistrationSaysSo() throws Exception {
        start(keycloak.oidcYaml());
        Browser.Page p = new Browser().get(url.resolve("/register/nosuchregistration"));
        assertThat(p.status()).isEqualTo(410);
        assertThat(p.body()).contains("expired or was already used");
    }
}
