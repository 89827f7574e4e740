package dev.lattice.control.server;

import static dev.lattice.control.server.ReplicaChangesTest.within;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.oidc.Browser;
import dev.lattice.control.oidc.FakeIdp;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.tailcfg.RegisterResponse;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A login at the identity provider registers a client waiting on another replica: the device waits on replica A, the
 * browser's pages are served by replica B (or, behind a balancer without stickiness, by either, page by page).
 */
@Timeout(120)
class ReplicaOidcTest {
    @TempDir
    Path dir;
    FakeIdp idp;
    ReplicaPair r;
    ControlServer a;
    ControlServer b;

    @BeforeEach
    void start() throws Exception {
        idp = new FakeIdp();
        r = ReplicaPair.start(dir, "oidc:\n  issuer: " + idp.issuer + "\n  client_id: lattice\n  client_secret: s3cr3t-value\n");
        a = r.a;
        b = r.b;
    }

    @AfterEach
    void stop() {
        if (r != null) r.close();
        if (idp != null) idp.close();
    }

    ReplicaRegistrationTest.Waiting waitingOnA(String name) throws Exception {
        TestMachine m = r.machine(a, name);
        return ReplicaRegistrationTest.begin(m, m);
    }

    /** The browser's sign-in: /register/ID on {@code start}, the provider, the callback on {@code callback}. */
    Browser.Page signIn(Browser browser, String authId, ControlServer start, ControlServer callback) throws Exception {
        URI toIdp = browser.redirectTarget(start.config().serverUrl().resolve("/register/" + authId));
        Map<String, List<String>> q = new QueryStringDecoder(toIdp).parameters();
        idp.nextToken = idp.sign(idp.claims(q.get("nonce").getFirst(), c -> c), idp.signing);
        return browser.get(callback.config().serverUrl().resolve("/oidc/callback?code=c-1&state=" + q.get("state").getFirst()));
    }

    @Test
    void aLoginServedByBRegistersTheClientWaitingOnA() throws Exception {
        ReplicaRegistrationTest.Waiting w = waitingOnA("laptop");
        Browser browser = new Browser();
        Browser.Page confirmPage = signIn(browser, w.authId(), b, b);
        assertThat(confirmPage.status()).as(confirmPage.body()).isEqualTo(200);
        assertThat(confirmPage.body()).contains("Register this device?").contains("laptop");
        assertThat(w.followup()).isNotDone();

        Browser.Page done = browser.submit(confirmPage.form("/register/confirm/"), Map.of());
        assertThat(done.body()).contains("Device registered");
        RegisterResponse r = w.outcome();
        assertThat(r.machineAuthorized()).isTrue();
        assertThat(r.login().loginName()).isEqualTo("dana@example.com");
        TailnetNode n = a.tailnet().nodes().getFirst();
        assertThat(a.tailnet().user(n.userId()).orElseThrow().name()).isEqualTo("dana");
    }

    @Test
    void eachPageOfTheLoginMayBeServedByAnotherReplica() throws Exception {
        ReplicaRegistrationTest.Waiting w = waitingOnA("desktop");
        Browser browser = new Browser();
        a.changeFollower().pause(); // A lags: it hears of nothing written on B until the end
        Browser.Page confirmPage = signIn(browser, w.authId(), a, b);
        assertThat(confirmPage.status()).as(confirmPage.body()).isEqualTo(200);
        Browser.Form form = confirmPage.form("/register/confirm/");
        // The button's form posted to A instead, which has not heard yet of the user B's callback created.
        Browser.Form toA = new Browser.Form(a.config().serverUrl().resolve(form.action().getPath()), form.fields());
        Browser.Page done = browser.submit(toA, Map.of());
        a.changeFollower().resume();
        assertThat(done.body()).as(done.body()).contains("Device registered");
        assertThat(w.outcome().machineAuthorized()).isTrue();
        within(Duration.ofSeconds(1), "the node on B", () -> b.tailnet().nodes().size() == 1);
    }
}
