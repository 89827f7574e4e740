package dev.lattice.control.server;

import static dev.lattice.control.server.ReplicaChangesTest.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.admin.AdminApi;
import dev.lattice.control.admin.AdminException;
import dev.lattice.control.auth.PendingRegistration;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.controlclient.ControlChannel;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interactive registration is the tailnet's: a client waiting on replica A is registered by an admin's {@code nodes
 * register} on replica B (or refused by a reject there), its follow-up may land on either replica, and one
 * registration completes once however many replicas are asked. A hostname change whose new name another replica gave
 * away first gets a collision name instead of an error.
 */
@Timeout(120)
class ReplicaRegistrationTest {
    static final Duration SECOND = Duration.ofSeconds(1);

    @TempDir
    Path dir;
    ReplicaPair r;
    ControlServer a;
    ControlServer b;
    User alice;

    @BeforeEach
    void start() throws Exception {
        r = ReplicaPair.start(dir);
        a = r.a;
        b = r.b;
        alice = r.alice();
        within(SECOND, "user alice on B", () -> b.tailnet().user(alice.id()).isPresent());
    }

    @AfterEach
    void stop() {
        if (r != null) r.close();
    }

    TestMachine machine(ControlServer on, String name) throws Exception {
        return r.machine(on, name);
    }

    /** A client waiting on its interactive registration: the URL it printed, and its held follow-up request. */
    record Waiting(String authUrl, CompletableFuture<ControlChannel.Response> followup) {
        String authId() {
            return authUrl.substring(authUrl.lastIndexOf('/') + 1);
        }

        RegisterResponse outcome() throws Exception {
            return Tailcfg.json().readValue(followup.get(10, TimeUnit.SECONDS).body(), RegisterResponse.class);
        }
    }

    /** Starts an interactive registration through {@code m}, and sends the follow-up through {@code followupVia}. */
    static Waiting begin(TestMachine m, TestMachine followupVia) throws Exception {
        RegisterResponse first = m.register(null);
        assertThat(first.authUrl()).contains("/register/");
        var followup = RegisterRequest.builder().version(142).nodeKey(m.nodeKey.publicKey()).hostinfo(m.hostinfo())
                .followup(first.authUrl()).build();
        return new Waiting(first.authUrl(),
                followupVia.channel.request(HttpMethod.POST, "/machine/register", Tailcfg.json().writeValueAsBytes(followup)));
    }

    @Test
    void anAdminOnBRegistersAClientWaitingOnA() throws Exception {
        TestMachine m = machine(a, "laptop");
        Waiting w = begin(m, m);
        // B lists it, by auth id and by node key (the legacy `nodes register --key nodekey:...`).
        assertThat(b.registrations().pending()).extracting(PendingRegistration::authId).contains(w.authId());
        assertThat(b.registrations().pendingByNodeKey(m.nodeKey.publicKey())).isPresent();
        Thread.sleep(100);
        assertThat(w.followup()).as("still waiting for an admin").isNotDone();

        AdminApi.NodeInfo info = b.adminApi().registerNode("alice", m.nodeKey.publicKey().toString());
        RegisterResponse r = w.outcome();
        assertThat(r.machineAuthorized()).isTrue();
        assertThat(r.login().loginName()).isEqualTo("alice@example.com");
        TailnetNode onA = a.tailnet().byMachineKey(m.machineKey.publicKey()).getFirst();
        assertThat(onA.id()).isEqualTo(info.node().id());
        assertThat(onA.userId()).isEqualTo(alice.id());
        assertThat(a.registrations().pending()).as("nothing left waiting, on either").isEmpty();
        assertThat(b.registrations().pending()).isEmpty();
        // A second completion, on either replica, finds nothing.
        assertThatThrownBy(() -> a.adminApi().authRegister(w.authId(), "alice")).isInstanceOf(AdminException.class);
    }

    @Test
    void aFollowUpThatLandsOnBIsAnsweredWhenAnAdminOnARegistersIt() throws Exception {
        TestMachine m = machine(a, "desktop");
        TestMachine sameMachineViaB = r.track(new TestMachine(r.group, b.config().serverUrl(), m));
        Waiting w = begin(m, sameMachineViaB);
        Thread.sleep(100);
        assertThat(w.followup()).as("B holds the follow-up: the registration is known there").isNotDone();
        a.adminApi().authRegister(w.authId(), "alice");
        assertThat(w.outcome().machineAuthorized()).isTrue();
    }

    @Test
    void aFollowUpSentAfterBRegisteredItIsAnsweredByAReplicaThatHasNotHeardOfTheNodeYet() throws Exception {
        TestMachine m = machine(a, "late");
        RegisterResponse first = m.register(null);
        String authId = first.authUrl().substring(first.authUrl().lastIndexOf('/') + 1);
        a.changeFollower().pause(); // A will not hear of the node B registers
        b.adminApi().authRegister(authId, "alice");
        RegisterResponse r = m.registerRaw(RegisterRequest.builder().version(142).nodeKey(m.nodeKey.publicKey())
                .hostinfo(m.hostinfo()).followup(first.authUrl()).build());
        assertThat(r.authUrl()).as("not a new login URL").isNull();
        assertThat(r.machineAuthorized()).isTrue();
        assertThat(a.tailnet().byMachineKey(m.machineKey.publicKey())).as("A read the node").isNotEmpty();
        a.changeFollower().resume();
    }

    @Test
    void aRejectOnBTellsTheClientWaitingOnA() throws Exception {
        TestMachine m = machine(a, "intruder");
        Waiting w = begin(m, m);
        assertThat(b.registrations().reject(w.authId())).isTrue();
        assertThat(w.outcome().error()).isEqualTo("auth request rejected");
        assertThat(a.registrations().reject(w.authId())).as("once").isFalse();
        assertThat(a.tailnet().byMachineKey(m.machineKey.publicKey())).isEmpty();
    }

    @Test
    void aRejectOnBBeforeTheFollowUpReachesAIsStillItsAnswer() throws Exception {
        TestMachine m = machine(a, "early");
        RegisterResponse first = m.register(null);
        assertThat(b.registrations().reject(first.authUrl().substring(first.authUrl().lastIndexOf('/') + 1))).isTrue();
        RegisterResponse r = m.registerRaw(RegisterRequest.builder().version(142).nodeKey(m.nodeKey.publicKey())
                .hostinfo(m.hostinfo()).followup(first.authUrl()).build());
        assertThat(r.error()).as("not a new login URL: " + r.authUrl()).isEqualTo("auth request rejected");
    }

    @Test
    void aRegistrationCompletedOnBothReplicasAtOnceRegistersOnce() throws Exception {
        TestMachine m = machine(a, "contested");
        Waiting w = begin(m, m);
        var onA = CompletableFuture.supplyAsync(() -> attempt(a, w.authId()));
        var onB = CompletableFuture.supplyAsync(() -> attempt(b, w.authId()));
        assertThat(List.of(onA.get(10, TimeUnit.SECONDS), onB.get(10, TimeUnit.SECONDS))).containsExactlyInAnyOrder(true, false);
        assertThat(w.outcome().machineAuthorized()).isTrue();
        assertThat(a.store().nodes().list()).hasSize(1);
    }

    static boolean attempt(ControlServer s, String authId) {
        try {
            s.adminApi().authRegister(authId, "alice");
            return true;
        } catch (AdminException e) {
            return false;
        }
    }

    @Test
    void aHostnameChangeWhoseNameAnotherReplicaGaveAwayFirstGetsACollisionName() throws Exception {
        String key = a.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(3600)).fullKey();
        TestMachine first = machine(a, "first");
        TestMachine second = machine(b, "second");
        assertThat(first.register(key).machineAuthorized()).isTrue();
        assertThat(second.register(key).machineAuthorized()).isTrue();
        long firstId = a.tailnet().byMachineKey(first.machineKey.publicKey()).getFirst().id();
        long secondId = b.tailnet().byMachineKey(second.machineKey.publicKey()).getFirst().id();
        within(SECOND, "both nodes on both replicas", () -> a.tailnet().node(secondId).isPresent() && b.tailnet().node(firstId).isPresent());

        b.changeFollower().pause(); // B lags: it will not hear that "gamma" is taken
        first.hostinfoExtra = h -> h.withHostname("gamma");
        assertThat(first.register(key).machineAuthorized()).isTrue();
        assertThat(a.tailnet().node(firstId).orElseThrow().givenName()).isEqualTo("gamma");
        second.hostinfoExtra = h -> h.withHostname("gamma");
        RegisterResponse r = second.register(key); // B picks "gamma", loses it to A's row, and picks again
        assertThat(r.error()).isNull();
        assertThat(r.machineAuthorized()).isTrue();
        assertThat(b.store().nodes().get(secondId).orElseThrow().givenName()).isEqualTo("gamma-1");
        // An admin's rename to the taken name is refused at once, not retried.
        long start = System.nanoTime();
        assertThatThrownBy(() -> b.adminApi().renameNode(secondId, "gamma")).isInstanceOf(AdminException.class)
                .hasMessageContaining("given name already in use");
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(500);
        b.changeFollower().resume();
    }
}
