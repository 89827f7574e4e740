package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.store.User;
import dev.lattice.controlclient.ControlChannel;
import dev.lattice.controlclient.ServerKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.PeerChange;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control protocol as a Tailscale client sees it, spoken from Java over real sockets: key discovery, the ts2021
 * handshake, registration with pre-auth keys, the map stream and its deltas, and refusals of bad input.
 */
@Timeout(60)
class ControlServerProtocolTest {
    @TempDir
    Path dir;
    ControlServer server;
    EventLoopGroup group;
    URI url;
    User alice;

    @BeforeEach
    void start() throws Exception {
        server = ControlServer.start(TestServer.config(dir, ""));
        url = server.config().serverUrl();
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        alice = server.store().users().create("alice", "Alice", "alice@example.com");
        server.tailnet().announceFull();
    }

    @AfterEach
    void stop() {
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
    }

    String reusableKey() {
        return server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(3600)).fullKey();
    }

    @Test
    void keyEndpointServesTheNoisePublicKey() throws Exception {
        assertThat(ServerKey.fetch(url, 142)).isEqualTo(server.noiseKey().publicKey());
    }

    @Test
    void metricsCountNodesAndOpenStreams() throws Exception {
        try (TestMachine m = new TestMachine(group, url, "metered")) {
            m.register(reusableKey());
            m.openStream();
            m.await(Duration.ofSeconds(5), x -> x.node() != null);
            String text = new String(server.metrics().scrape(), StandardCharsets.UTF_8);
            assertThat(text).contains("lattice_nodes 1.0").contains("lattice_map_sessions 1.0").contains("lattice_nodes_online 1.0");
            assertThat(text).containsPattern("lattice_db_write_transactions_total [1-9]");
        }
    }

    @Test
    void handshakeGivesAnEarlyPayloadWithAChallenge() throws Exception {
        try (TestMachine m = new TestMachine(group, url, "early")) {
            byte[] early = m.channel.earlyPayload().get(5, TimeUnit.SECONDS);
            assertThat(new String(early, StandardCharsets.UTF_8)).contains("\"nodeKeyChallenge\":\"chalpub:");
        }
    }

    @Test
    void registerWithPreAuthKeyThenStreamFullMap() throws Exception {
        try (TestMachine m = new TestMachine(group, url, "laptop")) {
            RegisterResponse r = m.register(reusableKey());
            assertThat(r.machineAuthorized()).isTrue();
            assertThat(r.error()).isNull();
            assertThat(r.user().id()).isEqualTo(alice.id());
            assertThat(r.login().loginName()).isEqualTo("alice@example.com");

            m.openStream();
            MapResponse full = m.await(Duration.ofSeconds(5), x -> x.node() != null);
            assertThat(full.node().machineAuthorized()).isTrue();
            assertThat(full.node().name()).isEqualTo("laptop.tailnet.test.");
            assertThat(full.node().addresses()).hasSize(2);
            assertThat(full.node().addresses().get(0).toString()).startsWith("100.").endsWith("/32");
            assertThat(full.node().key()).isEqualTo(m.nodeKey.publicKey());
            assertThat(full.node().discoKey()).isEqualTo(m.discoKey.publicKey());
            assertThat(full.peers()).isEmpty();
            assertThat(full.derpMap().regions()).containsKey(999);
            assertThat(full.dnsConfig().proxied()).isTrue();
            assertThat(full.dnsConfig().domains()).containsExactly("tailnet.test");
            assertThat(full.packetFilter()).hasSize(1);
            assertThat(full.packetFilter().get(0).srcIps()).containsExactly("*");
            assertThat(full.userProfiles()).anyMatch(p -> p.id() == alice.id());
        }
    }

    @Test
    void peersLearnOfJoinsPatchesAndDeparturesWithinASecond() throws Exception {
        String key = reusableKey();
        try (TestMachine a = new TestMachine(group, url, "a"); TestMachine b = new TestMachine(group, url, "b")) {
            a.register(key);
            a.openStream();
            a.await(Duration.ofSeconds(5), x -> x.node() != null);

            b.register(key);
            b.openStream();
            MapResponse bFull = b.await(Duration.ofSeconds(5), x -> x.node() != null);
            assertThat(TestMachine.hasPeer(bFull.peers(), "a")).isTrue();

            MapResponse added = a.await(Duration.ofSeconds(1), x -> TestMachine.hasPeer(x.peersChanged(), "b"));
            var bNode = added.peersChanged().stream().filter(n -> n.name().startsWith("b.")).findFirst().orElseThrow();
            assertThat(bNode.addresses()).hasSize(2);

            // b reports new endpoints in a lite update: a gets a patch, not the whole node.
            var lite = b.mapRequest().stream(false).omitPeers(true)
                    .endpoints(List.of(dev.lattice.wire.tailcfg.AddrPort.parse("192.0.2.7:41641"))).build();
            assertThat(b.post("/machine/map", lite).status()).isEqualTo(200);
            MapResponse patch = a.await(Duration.ofSeconds(1), x -> x.peersChangedPatch() != null
                    && x.peersChangedPatch().stream().anyMatch(p -> p.endpoints() != null && !p.endpoints().isEmpty()));
            PeerChange pc = patch.peersChangedPatch().get(0);
            assertThat(pc.nodeId()).isEqualTo(bNode.id());
            assertThat(pc.endpoints().get(0).toString()).isEqualTo("192.0.2.7:41641");

            // b goes away: a hears it is offline.
            b.stream.close();
            MapResponse off = a.await(Duration.ofSeconds(2), x -> x.peersChangedPatch() != null
                    && x.peersChangedPatch().stream().anyMatch(p -> Boolean.FALSE.equals(p.online())));
            assertThat(off.peersChangedPatch().get(0).nodeId()).isEqualTo(bNode.id());

            // b is deleted by an admin: a gets PeersRemoved.
            server.tailnet().delete(bNode.id());
            MapResponse removed = a.await(Duration.ofSeconds(1), x -> x.peersRemoved() != null);
            assertThat(removed.peersRemoved()).containsExactly(bNode.id());
        }
    }

    /**
     * Headscale's TestUpdateHostnameFromClient through the protocol: {@code tailscale set --hostname} reaches the
     * server in a map request; peers see the new MagicDNS name (Node.Name) and the raw hostname in Hostinfo. After an
     * admin rename, hostname changes still reach Hostinfo but no longer rename the node.
     */
    @Test
    void aHostnameChangeRenamesTheNodeForPeersUntilAnAdminRenamesIt() throws Exception {
        String key = reusableKey();
        try (TestMachine a = new TestMachine(group, url, "a"); TestMachine b = new TestMachine(group, url, "b")) {
            a.register(key);
            a.openStream();
            b.register(key);
            b.openStream();
            long bId = a.awaitView(Duration.ofSeconds(5), v -> v.hasPeer("b")).peer("b").id();
            String[][] cases = {{"Joe's Mac mini", "joes-mac-mini"}, {"Test@Host", "test-host"}, {"mail.server", "mail-server"}};
            for (String[] c : cases) {
                setHostname(b, c[0]);
                a.awaitView(Duration.ofSeconds(2), v -> v.peer(bId) != null && v.peer(bId).name().equals(c[1] + ".tailnet.test.")
                        && c[0].equals(v.peer(bId).hostinfo().hostname()));
                b.awaitView(Duration.ofSeconds(2), v -> v.self != null && v.self.name().equals(c[1] + ".tailnet.test."));
            }

            server.adminApi().renameNode(bId, bId + "-givenname");
            String renamed = bId + "-givenname.tailnet.test.";
            a.awaitView(Duration.ofSeconds(2), v -> v.peer(bId).name().equals(renamed));

            setHostname(b, "mail.serverNEW");
            a.awaitView(Duration.ofSeconds(2), v -> "mail.serverNEW".equals(v.peer(bId).hostinfo().hostname()));
            assertThat(a.view.peer(bId).name()).isEqualTo(renamed);
            var stored = server.tailnet().node(bId).orElseThrow();
            assertThat(stored.hostname()).isEqualTo("mail.serverNEW");
            assertThat(stored.givenName()).isEqualTo(bId + "-givenname");
        }
    }

    @Test
    void registrationsGetUniqueSanitisedNamesAndReRegistrationsFollowTheHostname() throws Exception {
        String key = reusableKey();
        try (TestMachine a = new TestMachine(group, url, "Joe's Mac mini"); TestMachine b = new TestMachine(group, url, "Joe's Mac mini")) {
            a.register(key);
            b.register(key);
            var aNode = server.tailnet().byMachineKey(a.machineKey.publicKey()).getFirst();
            var bNode = server.tailnet().byMachineKey(b.machineKey.publicKey()).getFirst();
            assertThat(aNode.givenName()).isEqualTo("joes-mac-mini");
            assertThat(aNode.hostname()).isEqualTo("Joe's Mac mini");
            assertThat(bNode.givenName()).isEqualTo("joes-mac-mini-1");

            // A restarted client re-registers without an auth key, with a new hostname (Registrations.refreshHostinfo).
            a.hostinfoExtra = h -> h.withHostname("desk");
            a.registerRaw(dev.lattice.wire.tailcfg.RegisterRequest.builder().version(142).nodeKey(a.nodeKey.publicKey())
                    .hostinfo(a.hostinfo()).build());
            assertThat(server.tailnet().node(aNode.id()).orElseThrow().givenName()).isEqualTo("desk");
            // b logs in again with the auth key (Registrations.upsert of the machine's node).
            b.hostinfoExtra = h -> h.withHostname("Test@Host");
            b.register(key);
            assertThat(server.tailnet().node(bNode.id()).orElseThrow().givenName()).isEqualTo("test-host");
            // ...and after an admin rename it keeps the admin's name.
            server.adminApi().renameNode(bNode.id(), "builder");
            b.hostinfoExtra = h -> h.withHostname("mail.server");
            b.register(key);
            assertThat(server.tailnet().node(bNode.id()).orElseThrow()).satisfies(n -> {
                assertThat(n.givenName()).isEqualTo("builder");
                assertThat(n.hostname()).isEqualTo("mail.server");
            });
        }
    }

    /** What {@code tailscale set --hostname} makes the client send: a map request with the new Hostinfo. */
    private static void setHostname(TestMachine m, String hostname) throws Exception {
        m.hostinfoExtra = h -> h.withHostname(hostname);
        assertThat(m.post("/machine/map", m.mapRequest().stream(false).omitPeers(true).build()).status()).isEqualTo(200);
    }

    @Test
    void restartOfTheClientKeepsItsAddresses() throws Exception {
        String key = reusableKey();
        String addr;
        try (TestMachine m = new TestMachine(group, url, "stable")) {
            m.register(key);
            m.openStream();
            addr = m.await(Duration.ofSeconds(5), x -> x.node() != null).node().addresses().get(0).toString();
            // A restarted client re-registers without auth and gets its state back.
            RegisterResponse again = m.registerRaw(dev.lattice.wire.tailcfg.RegisterRequest.builder().version(142)
                    .nodeKey(m.nodeKey.publicKey()).hostinfo(m.hostinfo()).build());
            assertThat(again.machineAuthorized()).isTrue();
            assertThat(again.authUrl()).isNull();
        }
        server.close();
        server = ControlServer.start(server.config());
        // same keys, new connection to the restarted server: still registered, same address
        assertThat(server.tailnet().nodes()).singleElement().satisfies(n ->
                assertThat(server.nodes().addresses(n).get(0).toString()).isEqualTo(addr));
    }

    @Test
    void singleUseKeyWorksOnceAndBadKeysAreRefusedClearly() throws Exception {
        String once = server.store().preAuthKeys().create(alice.id(), false, false, List.of(), Instant.now().plusSeconds(60)).fullKey();
        String expired = server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().minusSeconds(1)).fullKey();
        try (TestMachine a = new TestMachine(group, url, "one"); TestMachine b = new TestMachine(group, url, "two")) {
            assertThat(a.register(once).machineAuthorized()).isTrue();
            assertThat(errorOf(b, once)).contains("already used");
            assertThat(errorOf(b, expired)).contains("expired");
            assertThat(errorOf(b, "lattice-auth-nope-" + "x".repeat(40))).contains("invalid");
            // and the server still serves a good registration on the same connection
            assertThat(b.register(reusableKey()).machineAuthorized()).isTrue();
        }
    }

    private static String errorOf(TestMachine m, String key) throws Exception {
        var req = dev.lattice.wire.tailcfg.RegisterRequest.builder().version(142).nodeKey(m.nodeKey.publicKey())
                .hostinfo(m.hostinfo()).auth(new dev.lattice.wire.tailcfg.RegisterResponseAuth(null, null, null, key)).build();
        ControlChannel.Response r = m.post("/machine/register", req);
        assertThat(r.status()).as("refusals are final errors in a 200, as headscale sends them").isEqualTo(200);
        return Tailcfg.json().readValue(r.body(), RegisterResponse.class).error();
    }

    @Test
    void interactiveRegistrationCompletesWhenAnAdminApproves() throws Exception {
        try (TestMachine m = new TestMachine(group, url, "interactive")) {
            RegisterResponse first = m.register(null);
            assertThat(first.authUrl()).startsWith(url + "/register/");
            String id = first.authUrl().substring(first.authUrl().lastIndexOf('/') + 1);
            var followup = dev.lattice.wire.tailcfg.RegisterRequest.builder().version(142).nodeKey(m.nodeKey.publicKey())
                    .hostinfo(m.hostinfo()).followup(first.authUrl()).build();
            var pending = m.channel.request(io.netty.handler.codec.http.HttpMethod.POST, "/machine/register",
                    Tailcfg.json().writeValueAsBytes(followup));
            Thread.sleep(300);
            assertThat(pending).isNotDone();
            server.registrations().approve(id, alice);
            ControlChannel.Response done = pending.get(5, TimeUnit.SECONDS);
            RegisterResponse r = Tailcfg.json().readValue(done.body(), RegisterResponse.class);
            assertThat(r.machineAuthorized()).isTrue();
            assertThat(r.user().id()).isEqualTo(alice.id());
        }
    }

    @Test
    void logoutExpiresTheNode() throws Exception {
        try (TestMachine m = new TestMachine(group, url, "leaver")) {
            m.register(reusableKey());
            var logout = dev.lattice.wire.tailcfg.RegisterRequest.builder().version(142).nodeKey(m.nodeKey.publicKey())
                    .expiry(Instant.parse("1970-01-01T00:02:03Z")).build();
            RegisterResponse r = m.registerRaw(logout);
            assertThat(r.nodeKeyExpired()).isTrue();
            assertThat(server.tailnet().byNodeKey(m.nodeKey.publicKey()).orElseThrow().isExpired(Instant.now())).isTrue();
        }
    }

    @Test
    void mapForUnknownNodeOrForeignMachineIsRefused() throws Exception {
        try (TestMachine owner = new TestMachine(group, url, "owner"); TestMachine thief = new TestMachine(group, url, "thief")) {
            owner.register(reusableKey());
            var req = owner.mapRequest().stream(false).omitPeers(true).build();
            assertThat(thief.post("/machine/map", req).status()).isEqualTo(404);
            assertThat(thief.post("/machine/map", thief.mapRequest().build()).status()).isEqualTo(404);
            assertThat(owner.post("/machine/map", req).status()).isEqualTo(200);
        }
    }

    @Test
    void malformedJsonGetsA400AndTheConnectionStaysUsable() throws Exception {
        try (TestMachine m = new TestMachine(group, url, "fuzzy")) {
            var r = m.channel.request(io.netty.handler.codec.http.HttpMethod.POST, "/machine/register",
                    "{\"Version\": \"nope\"".getBytes(StandardCharsets.UTF_8)).get(5, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.bodyText()).contains("malformed RegisterRequest");
            assertThat(m.register(reusableKey()).machineAuthorized()).isTrue();
        }
    }

    @Test
    void tooOldClientIsRefusedInTheHandshakeWithAMessage() {
        assertThatThrownBy(() -> new TestMachine(group, url, "ancient", 90))
                .hasRootCauseMessage("server error: unsupported client version: capability version 90 is older than the"
                        + " minimum 113; please upgrade Tailscale");
    }

    @Test
    void garbageHandshakeAndGarbageRecordsOnlyHurtTheirOwnConnection() throws Exception {
        try (TestMachine good = new TestMachine(group, url, "good")) {
            good.register(reusableKey());
            // wrong-size initiation
            assertThat(rawUpgrade("AAAA")).contains("101").contains("wrong handshake initiation size");
            // not base64
            assertThat(rawUpgrade("!!!")).contains("400");
            // a valid handshake followed by a record with a lying length and garbage
            MachinePrivateKey mk = MachinePrivateKey.generate();
            var hs = new dev.lattice.wire.ts2021.ControlHandshake.Client(mk, server.noiseKey().publicKey(), 142);
            try (Socket s = new Socket("127.0.0.1", server.httpAddress().getPort())) {
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                out.write(("POST /ts2021 HTTP/1.1\r\nHost: x\r\nUpgrade: tailscale-control-protocol\r\nConnection: upgrade\r\n"
                        + "X-Tailscale-Handshake: " + java.util.Base64.getEncoder().encodeToString(hs.initiation())
                        + "\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                assertThat(in.read(new byte[64])).isPositive(); // the 101 (and maybe the Noise response) arrived
                out.write(new byte[] {4, (byte) 0xff, (byte) 0xff, 1, 2, 3});
                out.flush();
                byte[] buf = new byte[8192];
                int total = 0;
                while (in.read(buf) >= 0 && total < 1 << 20) total++; // server closes the connection
            }
            // the well-behaved client is unaffected
            good.openStream();
            assertThat(good.await(Duration.ofSeconds(5), x -> x.node() != null).node().machineAuthorized()).isTrue();
        }
    }

    private String rawUpgrade(String handshakeHeader) throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.httpAddress().getPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("POST /ts2021 HTTP/1.1\r\nHost: x\r\nUpgrade: tailscale-control-protocol\r\n"
                    + "Connection: upgrade\r\nX-Tailscale-Handshake: " + handshakeHeader + "\r\nContent-Length: 0\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void upgradedConnectionThatNeverSpeaksIsClosed() throws Exception {
        MachinePrivateKey mk = MachinePrivateKey.generate();
        var hs = new dev.lattice.wire.ts2021.ControlHandshake.Client(mk, server.noiseKey().publicKey(), 142);
        try (Socket s = new Socket("127.0.0.1", server.httpAddress().getPort())) {
            s.setSoTimeout(60_000);
            s.getOutputStream().write(("POST /ts2021 HTTP/1.1\r\nHost: x\r\nUpgrade: tailscale-control-protocol\r\n"
                    + "Connection: upgrade\r\nX-Tailscale-Handshake: " + java.util.Base64.getEncoder().encodeToString(hs.initiation())
                    + "\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            long t0 = System.nanoTime();
            s.getInputStream().readAllBytes(); // returns when the server gives up on us
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(45));
        }
    }

    @Test
    void machineKeyMustMatchOnReRegistration() throws Exception {
        try (TestMachine m = new TestMachine(group, url, "orig"); TestMachine other = new TestMachine(group, url, "other")) {
            m.register(reusableKey());
            var req = dev.lattice.wire.tailcfg.RegisterRequest.builder().version(142).nodeKey(m.nodeKey.publicKey()).build();
            ControlChannel.Response r = other.post("/machine/register", req);
            assertThat(r.status()).isEqualTo(200);
            assertThat(Tailcfg.json().readValue(r.body(), RegisterResponse.class).error())
                    .isEqualTo("node exists with a different machine key");
        }
    }

    @SuppressWarnings("unused")
    private static Throwable cause(ExecutionException e) {
        return e.getCause();
    }
}
