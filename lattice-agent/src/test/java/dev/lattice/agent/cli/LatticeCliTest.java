package dev.lattice.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.ipn.BackendException;
import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.ipn.NetcheckReport;
import dev.lattice.agent.ipn.PeerStatus;
import dev.lattice.agent.ipn.PingResult;
import dev.lattice.agent.ipn.UpRequest;
import dev.lattice.agent.ipn.UpResult;
import dev.lattice.agent.localapi.FakeBackend;
import dev.lattice.agent.localapi.LocalApiServer;
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
    FakeBackend backend;
    LocalApiServer server;

    @BeforeEach
    void start() throws Exception {
        backend = new FakeBackend();
        server = LocalApiServer.start(dir.resolve("latticed.sock"), backend, LocalApiServer.Options.defaults()
                .withDerpMap(() -> new DERPMap(null, Map.of(
                        900, new DERPRegion(900, "lab", "Lab Relay", null, null, null, null, List.of()),
                        901, new DERPRegion(901, "far", "Far Away", null, null, null, null, List.of()),
                        902, new DERPRegion(902, "dead", "Unreachable", null, null, null, null, List.of())), null)));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    LatticeCli.Result run(String... args) {
        LatticeCli cli = new LatticeCli();
        cli.clock = Clock.fixed(NOW, ZoneOffset.UTC);
        cli.pingInterval = Duration.ofMillis(1);
        cli.upPollInterval = Duration.ofMillis(5);
        String[] all = new String[args.length + 1];
        all[0] = "--socket=" + server.path();
        System.arraycopy(args, 0, all, 1, args.length);
        return LatticeCli.capture(cli, all);
    }

    static PeerStatus with(PeerStatus p, String curAddr, String relay, long tx, long rx, boolean online, boolean active, Instant lastSeen) {
        return new PeerStatus(p.id(), p.publicKey(), p.hostName(), p.dnsName(), p.os(), p.userId(), p.tailscaleIps(),
                p.allowedIps(), p.primaryRoutes(), p.tags(), p.addrs(), curAddr, relay, rx, tx, null, lastSeen, null, online, active, null, false);
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
        assertThat(backend.calls).containsExactly("up");

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
}
