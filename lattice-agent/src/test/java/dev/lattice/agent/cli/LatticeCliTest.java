package dev.lattice.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.ipn.BackendException;
import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.ipn.MaskedPrefs;
import dev.lattice.agent.ipn.NetcheckReport;
import dev.lattice.agent.ipn.PeerStatus;
import dev.lattice.agent.ipn.PingResult;
import dev.lattice.agent.ipn.Status;
import dev.lattice.agent.ipn.UpRequest;
import dev.lattice.agent.ipn.UpResult;
import dev.lattice.agent.localapi.FakeBackend;
import dev.lattice.agent.localapi.LocalApiServer;
import dev.lattice.agent.state.Prefs;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DERPRegion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lattice} against a fake backend behind a real local API socket: output as tailscale prints it, and exit codes. */
class LatticeCliTest {
    static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

    @TempDir
    Path dir;
    FakeDaemon daemon;
    FakeBackend backend;

    @BeforeEach
    void start() throws Exception {
        daemon = new FakeDaemon(dir, LocalApiServer.Options.defaults()
                .withDerpMap(() -> new DERPMap(null, Map.of(
                        900, new DERPRegion(900, "lab", "Lab Relay", null, null, null, null, List.of()),
                        901, new DERPRegion(901, "far", "Far Away", null, null, null, null, List.of()),
                        902, new DERPRegion(902, "dead", "Unreachable", null, null, null, null, List.of())), null)));
        backend = daemon.backend;
    }

    @AfterEach
    void stop() {
        daemon.close();
    }

    LatticeCli.Result run(String... args) {
        LatticeCli cli = new LatticeCli();
        cli.clock = Clock.fixed(NOW, ZoneOffset.UTC);
        cli.pingInterval = Duration.ofMillis(1);
        cli.upPollInterval = Duration.ofMillis(5);
        return daemon.run(cli, args);
    }

    static PeerStatus with(PeerStatus p, String curAddr, String relay, long tx, long rx, boolean online, boolean active, Instant lastSeen) {
        return new PeerStatus(p.id(), p.publicKey(), p.hostName(), p.dnsName(), p.os(), p.userId(), p.tailscaleIps(),
                p.allowedIps(), p.primaryRoutes(), p.tags(), p.addrs(), curAddr, relay, rx, tx, null, lastSeen, null, online,
                p.exitNode(), p.exitNodeOption(), active, null, false);
    }

    void tailnet() {
        backend.peers.put("nodekey:2", with(FakeBackend.peer("2", "peer-a", "peer-a.tail.example.", "linux", 2, "100.64.0.2"),
                "10.0.0.2:41641", "lab", 123, 456, true, true, null));
        backend.peers.put("nodekey:3", FakeBackend.peer("3", "Peer B.local", "", "linux", 1, "100.64.0.3"));
        backend.peers.put("nodekey:4", with(FakeBackend.peer("4", "zed", "zed.tail.example.", "windows", 0, "100.64.0.4"),
                "", "", 0, 0, false, false, NOW.minus(Duration.ofMinutes(125))));
        backend.peers.put("nodekey:5", with(FakeBackend.peer("5", "relayed", "relayed.tail.example.", "macOS", 2, "100.64.0.5"),
                "", "lab", 1, 0, true, true, null));
    }

    @Test
    void statusTableIsTailscalesLayout() {
        tailnet();
        var r = run("status");
        assertThat(r.code()).isZero();
        String w = "%-46s";
        assertThat(r.out()).isEqualTo(
                "100.64.0.1  me          alice@  linux    " + w.formatted("-") + "\n"
                + "100.64.0.3  (\"peer-b\")  alice@  linux    " + w.formatted("-") + "\n"
                + "100.64.0.2  peer-a      bob     linux    " + w.formatted("active; direct 10.0.0.2:41641, tx 123 rx 456") + "\n"
                + "100.64.0.5  relayed     bob     macOS    " + w.formatted("active; relay \"lab\", tx 1 rx 0") + "\n"
                + "100.64.0.4  zed         -       windows  " + w.formatted("offline, last seen 2h ago") + "\n");
        assertThat(run("status", "--active", "--self=false").out()).startsWith("100.64.0.2  peer-a").doesNotContain("zed");
        assertThat(run("status", "--header").out()).startsWith("IP          Hostname    Owner   OS       Status");
    }

    @Test
    void statusHealthAndStoppedStates() {
        backend.health = List.of("not connected to home DERP region 900");
        assertThat(run("status").out()).endsWith("\n\n# Health check:\n#     - not connected to home DERP region 900\n");
        backend.state = BackendState.Stopped;
        assertThat(run("status")).isEqualTo(new LatticeCli.Result(1, "Lattice is stopped.\n", ""));
        backend.state = BackendState.NeedsLogin;
        backend.authUrl = "http://ctl/register/x";
        assertThat(run("status")).isEqualTo(new LatticeCli.Result(1, "Logged out.\nLog in at: http://ctl/register/x\n", ""));
        backend.state = BackendState.NeedsMachineAuth;
        assertThat(run("status").out()).isEqualTo("Machine is not yet approved by tailnet admin.\n");
    }

    /** Output as tailscale 1.102 prints it in the same situations (seen against tailscaled and a stopped Headscale). */
    @Test
    void statusWhileTheControlServerIsUnreachable() {
        // Restarted with control down: no state yet, the failed login as health, exit 1.
        backend.state = BackendState.NoState;
        backend.self = with(FakeBackend.peer("", "vm", "", "linux", 0), "", "", 0, 0, false, false, null);
        backend.health = List.of("You are logged out. The last login error was: fetch control key: GET http://10.0.0.1:8080/key?v=130:"
                + " connect: connection refused", "Lattice is starting. Please wait.");
        assertThat(run("status")).isEqualTo(new LatticeCli.Result(1, """
                # Health check:
                #     - You are logged out. The last login error was: fetch control key: GET http://10.0.0.1:8080/key?v=130: \
                connect: connection refused
                #     - Lattice is starting. Please wait.

                unexpected state: NoState
                """, ""));
        // Running when control went away: our own row offline, exit 0.
        backend.state = BackendState.Running;
        backend.health = List.of();
        backend.self = with(FakeBackend.peer("n1", "me", "me.tail.example.", "linux", 1, "100.64.0.1"), "", "", 0, 0, false, false, null);
        assertThat(run("status")).isEqualTo(new LatticeCli.Result(0, "100.64.0.1  me  alice@  linux  offline  \n", ""));
    }

    @Test
    void statusJsonIsIndentedLikeGo() {
        tailnet();
        var r = run("status", "--json");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("{\n  \"Version\": \"1.2.3-test\",\n  \"BackendState\": \"Running\",\n")
                .contains("\"TailscaleIPs\": [\n    \"100.64.0.1\",\n").contains("\"Addrs\": []").contains("\"nodekey:4\"")
                .endsWith("}");
        assertThat(run("status", "--json", "--active").out()).doesNotContain("\"nodekey:4\"").contains("\"nodekey:2\"");
    }

    @Test
    void upWithAnAuthUrlPrintsItAndWaitsForRunning() {
        backend.upResult = new UpResult(BackendState.NeedsLogin, "http://ctl/register/abc");
        backend.pollsUntilRunning = 3;
        var r = run("up", "--login-server=http://ctl", "--hostname=box", "--advertise-tags=a,tag:b", "--accept-dns=false", "--reset");
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("\nTo authenticate, visit:\n\n\thttp://ctl/register/abc\n\nSuccess.\n");
        assertThat(backend.ups).containsExactly(
                new UpRequest("http://ctl", null, "box", List.of("tag:a", "tag:b"), null, false, true));
        assertThat(backend.calls.stream().filter("status"::equals).count()).isGreaterThanOrEqualTo(3);
    }

    @Test
    void upWithAnAuthKeyFileIsSilentAndTimesOutClearly() throws Exception {
        Path key = Files.writeString(dir.resolve("key"), "tskey-auth-123\n");
        var ok = run("up", "--authkey=file:" + key);
        assertThat(ok).isEqualTo(new LatticeCli.Result(0, "", ""));
        assertThat(backend.ups.getLast().authKey()).isEqualTo("tskey-auth-123");

        backend.upResult = new UpResult(BackendState.Starting, null);
        var slow = run("up", "--auth-key=k", "--timeout=50ms");
        assertThat(slow.code()).isEqualTo(1);
        assertThat(slow.err()).isEqualTo("timeout waiting for Lattice service to enter a Running state; check health with \"lattice status\"\n");
        // The timeout bounds latticed's own wait for the login too, not only the polls after it; without one,
        // latticed's default applies.
        assertThat(backend.upWaits).containsExactly(java.time.Duration.ofMillis(50));

        var bad = run("up", "--authkey=bad");
        assertThat(bad).isEqualTo(new LatticeCli.Result(1, "", "invalid key: bad\n"));
        assertThat(run("up", "--authkey=file:" + dir.resolve("missing")).err()).startsWith("reading authkey from file:");
        assertThat(run("up", "--advertise-tags=tag:9x").err()).contains("tag names must start with a letter");
    }

    @Test
    void upFailsAtOnceWithTheControlServersRefusal() {
        backend.upResult = new UpResult(BackendState.NeedsLogin, null, "authkey expired");
        var r = run("up", "--authkey=k", "--timeout=5s");
        assertThat(r).as("tailscale: backend error: <ErrMessage>, exit 1").isEqualTo(
                new LatticeCli.Result(1, "", "backend error: authkey expired\n"));
        assertThat(backend.calls).as("no status polls after a refusal").containsExactly("prefs", "up");

        // A refusal that comes after up answered (control was unreachable at first) shows in status's health.
        backend.upResult = new UpResult(BackendState.NeedsLogin, null);
        backend.health = List.of("You are logged out. The last login error was: authkey already used");
        assertThat(run("up", "--authkey=k", "--timeout=5s"))
                .isEqualTo(new LatticeCli.Result(1, "", "backend error: authkey already used\n"));

        // Only while logged out: on the way to Running the same warning is no refusal of this login.
        backend.upResult = new UpResult(BackendState.Starting, null);
        backend.pollsUntilRunning = 2;
        assertThat(run("up", "--authkey=k", "--timeout=5s")).isEqualTo(new LatticeCli.Result(0, "", ""));
    }

    @Test
    void downLogoutAndTheirMessages() {
        assertThat(run("down")).isEqualTo(new LatticeCli.Result(0, "", ""));
        assertThat(backend.calls).contains("down");
        assertThat(run("down")).isEqualTo(new LatticeCli.Result(0, "", "Lattice was already stopped.\n"));
        assertThat(run("logout").code()).isZero();
        assertThat(backend.calls).contains("logout");
        assertThat(run("status").out()).isEqualTo("Logged out.\n");
    }

    @Test
    void pingStopsAtTheFirstDirectPong() {
        tailnet();
        backend.pings.add(new PingResult("100.64.0.2", "100.64.0.2", "peer-a.tail.example.", null, 0.0234, null, 900, "lab"));
        backend.pings.add(new PingResult("100.64.0.2", "100.64.0.2", "peer-a.tail.example.", null, 0.0006, "10.0.0.2:41641", 0, null));
        var r = run("ping", "peer-a");
        assertThat(r).isEqualTo(new LatticeCli.Result(0,
                "pong from peer-a.tail.example. (100.64.0.2) via DERP(lab) in 23ms\n"
                + "pong from peer-a.tail.example. (100.64.0.2) via 10.0.0.2:41641 in 1ms\n", ""));
        assertThat(backend.calls).contains("ping 100.64.0.2 5000");
    }

    @Test
    void pingWithoutADirectPathFailsAfterCountAndReportsTimeouts() {
        tailnet();
        for (int i = 0; i < 2; i++) {
            backend.pings.add(new PingResult("100.64.0.5", "100.64.0.5", "relayed", null, 0.01, null, 900, "lab"));
        }
        var r = run("ping", "-c", "2", "100.64.0.5");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEqualTo("pong from relayed (100.64.0.5) via DERP(lab) in 10ms\n".repeat(2));
        assertThat(r.err()).isEqualTo("direct connection not established\n");

        backend.pings.add(new BackendException(504, "timed out"));
        backend.pings.add(new BackendException(504, "timed out"));
        var t = run("ping", "-c=2", "--timeout=100ms", "100.64.0.5");
        assertThat(t).isEqualTo(new LatticeCli.Result(1, "ping \"100.64.0.5\" timed out\n".repeat(2), "no reply\n"));

        backend.pings.add(new PingResult("100.64.0.5", null, null, "no matching peer", 0, null, 0, null));
        assertThat(run("ping", "100.64.0.5")).isEqualTo(new LatticeCli.Result(1, "", "no matching peer\n"));
        assertThat(run("ping", "me")).isEqualTo(new LatticeCli.Result(0, "100.64.0.1 is local Lattice IP\n", ""));
        assertThat(run("ping", "nobody").err()).startsWith("error looking up IP of \"nobody\"");
    }

    @Test
    void netcheckReportLayout() {
        var m = new java.util.HashMap<Integer, Double>();
        m.put(900, 0.01234);
        m.put(901, 0.1);
        backend.netcheck = new NetcheckReport(true, true, false, "203.0.113.5:41641", null, false, 900, m, m);
        var r = run("netcheck");
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEqualTo("\nReport:\n"
                + "\t* Time: 2026-03-01 12:00:00Z\n"
                + "\t* UDP: true\n"
                + "\t* IPv4: yes, 203.0.113.5:41641\n"
                + "\t* IPv6: no, unavailable in OS\n"
                + "\t* MappingVariesByDestIP: false\n"
                + "\t* PortMapping: not checked\n"
                + "\t* Nearest DERP: Lab Relay\n"
                + "\t* DERP latency:\n"
                + "\t\t- lab: 12.3ms  (Lab Relay)\n"
                + "\t\t- far: 100ms   (Far Away)\n"
                + "\t\t- dead:         (Unreachable)\n");
        assertThat(run("netcheck", "--format=json-line").out()).startsWith("{\"UDP\":true,").endsWith("}\n");
        assertThat(run("netcheck", "--format=xml")).isEqualTo(new LatticeCli.Result(1, "", "unknown output format \"xml\"\n"));
    }

    @Test
    void ipAndWhois() {
        tailnet();
        assertThat(run("ip").out()).isEqualTo("100.64.0.1\nfd7a:115c:a1e0::1\n");
        assertThat(run("ip", "-4").out()).isEqualTo("100.64.0.1\n");
        assertThat(run("ip", "-6").out()).isEqualTo("fd7a:115c:a1e0::1\n");
        assertThat(run("ip", "peer-a").out()).isEqualTo("100.64.0.2\n");
        assertThat(run("ip", "-6", "peer-a")).isEqualTo(new LatticeCli.Result(1, "", "no Lattice IPv6 address\n"));
        assertThat(run("ip", "-4", "-6").err()).isEqualTo("lattice ip -1, -4, and -6 are mutually exclusive\n");

        var w = run("whois", "100.64.0.2");
        assertThat(w).isEqualTo(new LatticeCli.Result(0,
                "Machine:\n"
                + "  Name:          peer-a.tail.example\n"
                + "  ID:            2\n"
                + "  Addresses:     [100.64.0.2/32]\n"
                + "User:\n"
                + "  Name:     bob\n"
                + "  ID:       2\n", ""));
        assertThat(run("whois", "100.64.9.9")).isEqualTo(new LatticeCli.Result(1, "", "no node has address 100.64.9.9\n"));
        assertThat(run("whois").err()).isEqualTo("missing argument, expected one peer\n");
    }

    @Test
    void versionAsksTheDaemonOnlyWhenTold() {
        assertThat(run("version").out()).isEqualTo(LatticeCli.clientVersion() + "\n");
        assertThat(run("version", "--daemon").out()).isEqualTo("Client: " + LatticeCli.clientVersion() + "\nDaemon: 1.2.3-test\n");
    }

    @Test
    void aDaemonThatIsNotRunningIsOneClearLine() {
        Path none = dir.resolve("nothing-here.sock");
        for (String cmd : List.of("status", "up", "down", "logout", "netcheck", "ip")) {
            var r = LatticeCli.capture("--socket", none.toString(), cmd);
            assertThat(r.code()).as(cmd).isEqualTo(1);
            assertThat(r.err()).as(cmd).isEqualTo(
                    "failed to connect to local latticed; it doesn't appear to be running (socket " + none + ")\n");
        }
        // The option works after the subcommand name too.
        assertThat(LatticeCli.capture("status", "--socket=" + none).err()).contains("doesn't appear to be running");
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertThat(run("status", "extra").code()).isEqualTo(2);
        assertThat(run("ping").code()).isEqualTo(2);
        assertThat(run("ping").err()).contains("Missing required parameter");
        assertThat(run("up", "--timeout=5").err()).contains("missing unit");
        assertThat(run("up", "--timeout=5").code()).isEqualTo(2);
        assertThat(run("ping", "-c", "x", "a").code()).isEqualTo(2);
        assertThat(run("frobnicate").code()).isEqualTo(2);
        assertThat(backend.calls).isEmpty();
    }

    // --- routing: up's and set's flags, exit-node list, status ---------------------------------------

    void exitNodes() {
        backend.peers.put("nodekey:5", FakeBackend.peer("5", "exit", "exit.tail.example.", "linux", 1, "100.64.0.5").withExitNodeOption(true));
        backend.peers.put("nodekey:6", FakeBackend.peer("6", "plain", "plain.tail.example.", "linux", 1, "100.64.0.6"));
        backend.peers.put("nodekey:7", with(FakeBackend.peer("7", "sel", "sel.tail.example.", "linux", 1, "100.64.0.7")
                .withExitNodeOption(true).withExitNode(true), "10.0.0.7:41641", "lab", 1, 2, true, true, null));
        backend.peers.put("nodekey:9", with(FakeBackend.peer("9", "gone", "gone.tail.example.", "linux", 1, "100.64.0.9")
                .withExitNodeOption(true), "", "", 0, 0, false, false, NOW.minus(Duration.ofMinutes(125))));
    }

    @Test
    void upSendsTheRoutingFlagsAfterCheckingThemAsTailscaleDoes() {
        exitNodes();
        backend.prefs = Prefs.defaults().withAdvertiseRoutes(List.of("192.168.9.0/24"));
        backend.forwardingWarning = "IP forwarding is disabled, subnet routing/exit nodes will not work (sysctl net.ipv4.ip_forward is 0).";
        var r = run("up", "--advertise-routes=10.1.0.0/24,10.2.0.0/16", "--snat-subnet-routes=false", "--shields-up",
                "--accept-routes");
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEqualTo("Warning: " + backend.forwardingWarning + "\n");
        assertThat(backend.forwardingChecks).containsExactly(List.of("10.2.0.0/16", "10.1.0.0/24"));
        UpRequest up = backend.ups.getLast();
        assertThat(up.advertiseRoutes()).as("replaces the saved routes").containsExactly("10.2.0.0/16", "10.1.0.0/24");
        assertThat(up.noSnat()).isTrue();
        assertThat(up.shieldsUp()).isTrue();
        assertThat(up.acceptRoutes()).isTrue();
        assertThat(up.exitNodeIp()).as("not mentioned: kept").isNull();

        // --advertise-exit-node alone keeps the routes; without SNAT tailscale warns and goes on.
        backend.prefs = backend.prefs.withAdvertiseRoutes(List.of("10.1.0.0/24")).withNoSnat(true);
        backend.forwardingWarning = null;
        var exit = run("up", "--advertise-exit-node");
        assertThat(exit.out()).isEqualTo("Warning: --snat-subnet-routes=false is set with --advertise-exit-node; internet"
                + " traffic through this exit node may not work as expected\n");
        assertThat(backend.ups.getLast().advertiseRoutes()).containsExactly("10.1.0.0/24", "0.0.0.0/0", "::/0");

        assertThat(run("up", "--exit-node=exit").code()).isZero();
        assertThat(backend.ups.getLast().exitNodeIp()).isEqualTo("100.64.0.5");
        assertThat(run("up", "--exit-node=").code()).isZero();
        assertThat(backend.ups.getLast().exitNodeIp()).as("empty: no exit node").isEmpty();
    }

    @Test
    void upRefusesBadRoutingFlagsWithTailscalesMessagesAndChangesNothing() {
        exitNodes();
        record Case(String[] args, String err) {}
        for (Case c : List.of(
                new Case(new String[] {"--advertise-routes=10.1.0.1/24"}, "10.1.0.1/24 has non-address bits set; expected 10.1.0.0/24"),
                new Case(new String[] {"--advertise-routes=0.0.0.0/0"},
                        "0.0.0.0/0 advertised without its IPv6 counterpart, please also advertise ::/0"),
                new Case(new String[] {"--advertise-routes=100.64.1.0/24"},
                        "100.64.1.0/24 overlaps the tailnet's address range 100.64.0.0/10; the tailnet's own addresses cannot be"
                                + " advertised as a subnet route"),
                new Case(new String[] {"--exit-node=plain"}, "node \"plain\" is not advertising an exit node"),
                new Case(new String[] {"--exit-node=100.64.0.6"}, "node 100.64.0.6 is not advertising an exit node"),
                new Case(new String[] {"--exit-node=nobody"}, "invalid value \"nobody\" for --exit-node; must be IP or peer hostname"),
                new Case(new String[] {"--exit-node=100.64.0.1"}, "cannot use 100.64.0.1 as an exit node as it is a local IP"
                        + " address to this machine; did you mean --advertise-exit-node?"),
                new Case(new String[] {"--exit-node-allow-lan-access"}, "--exit-node-allow-lan-access can only be used with --exit-node"))) {
            String[] args = new String[c.args().length + 1];
            args[0] = "up";
            System.arraycopy(c.args(), 0, args, 1, c.args().length);
            assertThat(run(args)).as(String.join(" ", args)).isEqualTo(new LatticeCli.Result(1, "", c.err() + "\n"));
        }
        assertThat(backend.ups).as("nothing reached the daemon's up").isEmpty();
        // The daemon's own check (here: advertising and using an exit node at once) comes back as its message.
        backend.upRefusal = "Cannot advertise an exit node and use an exit node at the same time.";
        assertThat(run("up", "--exit-node=exit", "--advertise-exit-node"))
                .isEqualTo(new LatticeCli.Result(1, "", "Cannot advertise an exit node and use an exit node at the same time.\n"));
    }

    @Test
    void setChangesOnlyTheFlagsGiven() {
        exitNodes();
        backend.prefs = Prefs.defaults().withAdvertiseRoutes(List.of("10.0.0.0/8")).withAcceptRoutes(true);
        assertThat(run("set", "--advertise-exit-node")).isEqualTo(new LatticeCli.Result(0, "", ""));
        assertThat(backend.edits.getLast()).isEqualTo(MaskedPrefs.NONE.withAdvertiseRoutes(List.of("10.0.0.0/8", "0.0.0.0/0", "::/0")));
        assertThat(backend.prefs.acceptRoutes()).isTrue();

        assertThat(run("set", "--advertise-exit-node=false", "--shields-up").code()).isZero();
        assertThat(backend.edits.getLast()).isEqualTo(MaskedPrefs.NONE.withAdvertiseRoutes(List.of("10.0.0.0/8")).withShieldsUp(true));

        assertThat(run("set", "--exit-node=exit.tail.example", "--exit-node-allow-lan-access").code()).isZero();
        assertThat(backend.prefs.exitNodeIp()).isEqualTo("100.64.0.5");
        assertThat(backend.prefs.exitNodeAllowLanAccess()).isTrue();
        assertThat(run("set", "--exit-node=", "--accept-dns=false", "--hostname=box", "--snat-subnet-routes=false").code()).isZero();
        assertThat(backend.prefs.usesExitNode()).isFalse();
        assertThat(backend.edits.getLast()).isEqualTo(MaskedPrefs.NONE.withExitNodeIp("").withAcceptDns(false).withHostname("box")
                .withNoSnat(true));

        // Nothing to set: set's help, as tailscale's flag.ErrHelp; no change sent.
        int edits = backend.edits.size();
        var help = run("set");
        assertThat(help.code()).isZero();
        assertThat(help.out()).startsWith("Usage: lattice set").contains("--advertise-routes", "--exit-node",
                "Only settings explicitly mentioned will be set.");
        assertThat(run("set", "extra").err()).isEqualTo("lattice set: too many non-flag arguments: [\"extra\"]\n");
        assertThat(run("set", "--advertise-routes=10.0.0.1/8").err())
                .isEqualTo("10.0.0.1/8 has non-address bits set; expected 10.0.0.0/8\n");
        backend.refuseEdit = "Cannot advertise an exit node and use an exit node at the same time.";
        assertThat(run("set", "--advertise-exit-node")).as("SNAT is off from the set before: tailscale's warning, then the refusal")
                .isEqualTo(new LatticeCli.Result(1, "Warning: --snat-subnet-routes=false is set with --advertise-exit-node;"
                        + " internet traffic through this exit node may not work as expected\n",
                        "Cannot advertise an exit node and use an exit node at the same time.\n"));
        assertThat(backend.edits).hasSize(edits + 1);
    }

    @Test
    void exitNodeListIsTailscalesTable() {
        exitNodes();
        var r = run("exit-node", "list");
        String row = "%-16s%-22s%-12s%-10s%-30s";
        assertThat(r).isEqualTo(new LatticeCli.Result(0, "\n"
                + row.formatted(" IP", "HOSTNAME", "COUNTRY", "CITY", "STATUS") + "\n"
                + row.formatted(" 100.64.0.5", "exit.tail.example", "-", "-", "-") + "\n"
                + row.formatted(" 100.64.0.9", "gone.tail.example", "-", "-", "offline, last seen 2h ago") + "\n"
                + row.formatted(" 100.64.0.7", "sel.tail.example", "-", "-", "selected") + "\n"
                + "\n"
                + "# To view the complete list of exit nodes for a country, use `lattice exit-node list --filter=` followed by the country name.\n"
                + "# To use an exit node, use `lattice set --exit-node=` followed by the IP or hostname.\n", ""));
        assertThat(run("exit-node", "list", "--filter=Canada")).isEqualTo(new LatticeCli.Result(1, "", "no exit nodes found for \"Canada\"\n"));
        backend.peers.clear();
        assertThat(run("exit-node", "list")).isEqualTo(new LatticeCli.Result(1, "", "no exit nodes found\n"));
    }

    @Test
    void statusShowsTheExitNodeInUseAndThoseOnOffer() {
        exitNodes();
        var r = run("status", "--self=false");
        assertThat(r.out()).contains(
                "100.64.0.5  exit   alice@  linux  idle; offers exit node ",
                "100.64.0.9  gone   alice@  linux  idle; offers exit node; offline, last seen 2h ago",
                "100.64.0.7  sel    alice@  linux  active; exit node; direct 10.0.0.7:41641, tx 1 rx 2",
                "100.64.0.6  plain  alice@  linux  -");
        backend.exitNodeStatus = new Status.ExitNodeStatus("7", true, List.of("100.64.0.7/32"));
        assertThat(run("status", "--json").out()).contains("\"ExitNodeStatus\": {\n    \"ID\": \"7\",\n    \"Online\": true,")
                .contains("\"ExitNodeOption\": true");
    }

    @Test
    void certWritesTheChainAndAPrivateKeyOnlyTheOwnerReadsAndLeavesIdenticalFilesAlone() throws Exception {
        String chain = "-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
        String key = "-----BEGIN EC PRIVATE KEY-----\nK\n-----END EC PRIVATE KEY-----\n";
        backend.certs.put("me.tail.example", new dev.lattice.agent.cert.CertPair(chain, key));
        Path crt = dir.resolve("me.crt");
        Path pem = dir.resolve("me.key");
        LatticeCli.Result r = run("cert", "--cert-file", crt.toString(), "--key-file", pem.toString(), "me.tail.example");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("Wrote public cert to " + crt + "\nWrote private key to " + pem + "\n");
        assertThat(Files.readString(crt)).isEqualTo(chain);
        assertThat(Files.readString(pem)).isEqualTo(key);
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(pem))).isEqualTo("rw-------");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(crt))).isEqualTo("rw-r--r--");

        r = run("cert", "--cert-file", crt.toString(), "--key-file", pem.toString(), "me.tail.example");
        assertThat(r.out()).isEqualTo("Public cert unchanged at " + crt + "\nPrivate key unchanged at " + pem + "\n");

        r = run("cert", "--cert-file", "-", "me.tail.example");
        assertThat(r.out()).isEqualTo(chain);

        r = run("cert", "peer.tail.example");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("invalid domain \"peer.tail.example\"");
        assertThat(run("cert").code()).isEqualTo(2);
    }
}
