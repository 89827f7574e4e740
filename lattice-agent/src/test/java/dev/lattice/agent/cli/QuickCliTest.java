package dev.lattice.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.ipn.BackendException;
import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.ipn.MaskedPrefs;
import dev.lattice.agent.ipn.PeerStatus;
import dev.lattice.agent.ipn.PingResult;
import dev.lattice.agent.ipn.UpRequest;
import dev.lattice.agent.ipn.UpResult;
import dev.lattice.agent.localapi.CliRoute;
import dev.lattice.agent.localapi.FakeBackend;
import dev.lattice.agent.localapi.LocalApiServer;
import dev.lattice.agent.state.Prefs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code lattice} as {@link CliMain} runs it (quick commands in latticed, over {@link CliRoute}) gives exactly what
 * {@link LatticeCli} gives for the same command line against the same daemon: output, error output and exit code.
 */
class QuickCliTest {
    static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    @TempDir
    Path dir;
    FakeBackend backend;
    LocalApiServer server;

    @BeforeEach
    void start() throws Exception {
        backend = new FakeBackend();
        server = LocalApiServer.start(dir.resolve("latticed.sock"), backend, LocalApiServer.Options.defaults()
                .withCli(args -> QuickCli.accept(args, CLOCK, Duration.ofMillis(1))));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** A command line, and what the fake daemon holds before each run of it. */
    record Case(String name, List<String> args, Consumer<FakeBackend> setup) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Case c(String name, Consumer<FakeBackend> setup, String... args) {
        return new Case(name, List.of(args), setup);
    }

    static void tailnet(FakeBackend b) {
        b.peers.put("nodekey:2", with(FakeBackend.peer("2", "peer-a", "peer-a.tail.example.", "linux", 2, "100.64.0.2"),
                "10.0.0.2:41641", "lab", 123, 456, true, true, null));
        b.peers.put("nodekey:3", FakeBackend.peer("3", "Peer B.local", "", "linux", 1, "100.64.0.3"));
        b.peers.put("nodekey:4", with(FakeBackend.peer("4", "zed", "zed.tail.example.", "windows", 0, "100.64.0.4"),
                "", "", 0, 0, false, false, NOW.minus(Duration.ofMinutes(125))));
        b.peers.put("nodekey:5", with(FakeBackend.peer("5", "relayed", "relayed.tail.example.", "macOS", 2, "100.64.0.5"),
                "", "lab", 1, 0, true, true, null));
    }

    static PeerStatus with(PeerStatus p, String curAddr, String relay, long tx, long rx, boolean online, boolean active, Instant lastSeen) {
        return new PeerStatus(p.id(), p.publicKey(), p.hostName(), p.dnsName(), p.os(), p.userId(), p.tailscaleIps(),
                p.allowedIps(), p.primaryRoutes(), p.tags(), p.addrs(), curAddr, relay, rx, tx, null, lastSeen, null, online,
                p.exitNode(), p.exitNodeOption(), active, null, false);
    }

    static Consumer<FakeBackend> pings(Object... answers) {
        return b -> {
            tailnet(b);
            b.pings.clear();
            b.pings.addAll(List.of(answers));
        };
    }

    static PingResult derpPong(String ip) {
        return new PingResult(ip, ip, "peer-a.tail.example.", null, 0.0234, null, 900, "lab");
    }

    static PingResult directPong(String ip) {
        return new PingResult(ip, ip, "peer-a.tail.example.", null, 0.0006, "10.0.0.2:41641", 0, null);
    }

    /** Command lines the daemon runs. */
    static Stream<Case> quick() {
        Consumer<FakeBackend> net = QuickCliTest::tailnet;
        Consumer<FakeBackend> none = b -> {};
        return Stream.of(
                c("status", net, "status"),
                c("status --header", net, "status", "--header"),
                c("status --active --self=false", net, "status", "--active", "--self=false"),
                c("status --peers=false", net, "status", "--peers=false"),
                c("status --self --peers", net, "status", "--self", "--peers"),
                c("status --json", net, "status", "--json"),
                c("status --json --active", net, "status", "--json", "--active"),
                c("status logged out", b -> b.state = BackendState.NeedsLogin, "status"),
                c("status stopped", b -> b.state = BackendState.Stopped, "status"),
                c("status with health", b -> b.health = List.of("not connected to home DERP region 900"), "status"),
                c("status starting with health", b -> {
                    b.state = BackendState.Starting;
                    b.health = List.of("Lattice is starting. Please wait.");
                }, "status"),
                c("ip", net, "ip"),
                c("ip -4", net, "ip", "-4"),
                c("ip -6", net, "ip", "-6"),
                c("ip -1", net, "ip", "-1"),
                c("ip peer", net, "ip", "peer-a"),
                c("ip -6 peer (none)", net, "ip", "-6", "peer-a"),
                c("ip -4 -6", net, "ip", "-4", "-6"),
                c("ip two peers", net, "ip", "peer-a", "zed"),
                c("ip unknown peer", net, "ip", "nobody"),
                c("ip logged out", b -> {
                    b.state = BackendState.NeedsLogin;
                    b.self = FakeBackend.peer("n1", "me", "", "linux", 1);
                }, "ip"),
                c("ping until direct", pings(derpPong("100.64.0.2"), directPong("100.64.0.2")), "ping", "peer-a"),
                c("ping -c 2 relayed", pings(derpPong("100.64.0.5"), derpPong("100.64.0.5")), "ping", "-c", "2", "100.64.0.5"),
                c("ping -c=2 timeouts", pings(new BackendException(504, "timed out"), new BackendException(504, "timed out")),
                        "ping", "-c=2", "--timeout=100ms", "100.64.0.5"),
                c("ping --timeout 2s --until-direct=false -c 1", pings(directPong("100.64.0.2")),
                        "ping", "--timeout", "2s", "--until-direct=false", "-c", "1", "peer-a"),
                c("ping --verbose by name", pings(directPong("100.64.0.2")), "ping", "--verbose", "peer-a"),
                c("ping error", pings(new PingResult("100.64.0.5", null, null, "no matching peer", 0, null, 0, null)),
                        "ping", "100.64.0.5"),
                c("ping self", net, "ping", "me"),
                c("ping unknown", net, "ping", "nobody"),
                c("ping --timeout=0s", net, "ping", "--timeout=0s", "peer-a"),
                c("ping logged out", b -> b.state = BackendState.NeedsLogin, "ping", "peer-a"),
                c("version", none, "version"),
                c("socket after the command", net, "status", "--socket=SOCKET"),
                c("up with a key", b -> b.state = BackendState.NeedsLogin, "up", "--login-server=http://ctl", "--authkey=k",
                        "--hostname=box", "--accept-dns=false"),
                c("up --auth-key, spaced values, every flag", net, "up", "--login-server", "http://ctl", "--auth-key", "k",
                        "--hostname", "box", "--advertise-tags", "a,tag:b", "--accept-routes", "--accept-dns=false", "--reset",
                        "--timeout", "5s", "--advertise-routes", "10.1.0.0/24", "--advertise-exit-node", "--exit-node=",
                        "--shields-up=false", "--snat-subnet-routes=false"),
                c("up interactive", b -> {
                    b.upResult = new UpResult(BackendState.NeedsLogin, "http://ctl/register/abc");
                    b.pollsUntilRunning = 3;
                }, "up", "--login-server=http://ctl"),
                c("up interactive times out", b -> {
                    b.upResult = new UpResult(BackendState.NeedsLogin, "http://ctl/register/abc");
                    b.pollsUntilRunning = -1;
                }, "up", "--timeout=30ms"),
                c("up refused", b -> b.upResult = new UpResult(BackendState.NeedsLogin, null, "authkey expired"), "up", "--authkey=k"),
                c("up bad key", none, "up", "--authkey=bad"),
                c("up bad tag", none, "up", "--advertise-tags=tag:9x"),
                c("up lan access without exit node", none, "up", "--exit-node-allow-lan-access"),
                c("up unknown exit node", net, "up", "--exit-node=nobody"),
                c("up routes with warnings", b -> {
                    b.forwardingWarning = "IP forwarding is disabled";
                    b.prefs = Prefs.defaults();
                }, "up", "--advertise-routes=10.1.0.0/24", "--advertise-exit-node", "--snat-subnet-routes=false"),
                c("up refused by the daemon", b -> b.upRefusal = "--login-server must be an http:// or https:// URL", "up",
                        "--login-server=ftp://x"));
    }

    /** Command lines that are LatticeCli's: unusual spellings, other commands, every usage error. */
    static Stream<Case> declined() {
        Consumer<FakeBackend> net = QuickCliTest::tailnet;
        return Stream.of(
                c("no command", net),
                c("help", net, "--help"),
                c("status -h", net, "status", "--help"),
                c("status extra", net, "status", "extra"),
                c("status --json=true", net, "status", "--json=true"),
                c("status --self false", net, "status", "--self", "false"),
                c("status twice", net, "status", "--header", "--header"),
                c("ip -46", net, "ip", "-46"),
                c("ping no target", net, "ping"),
                c("ping -c5", pings(directPong("100.64.0.2")), "ping", "-c5", "peer-a"),
                c("ping -c x", net, "ping", "-c", "x", "peer-a"),
                c("ping -c -1", net, "ping", "-c", "-1", "peer-a"),
                c("ping --timeout=5", net, "ping", "--timeout=5", "peer-a"),
                c("ping two targets", net, "ping", "a", "b"),
                c("version --daemon", net, "version", "--daemon"),
                c("whois", net, "whois", "100.64.0.2"),
                c("down", b -> b.state = BackendState.Running, "down"),
                c("frobnicate", net, "frobnicate"),
                c("up extra", net, "up", "extra"),
                c("up --reset=true", net, "up", "--reset=true"),
                c("up --accept-dns false", net, "up", "--accept-dns", "false"),
                c("up two keys", net, "up", "--authkey=a", "--auth-key=b"),
                c("up --timeout=5", net, "up", "--timeout=5"),
                c("up --hostname -x", net, "up", "--hostname", "-x"),
                c("up -h", net, "up", "-h"),
                c("status --", net, "status", "--"));
    }

    LatticeCli.Result viaLatticeCli(List<String> args) {
        LatticeCli cli = new LatticeCli();
        cli.clock = CLOCK;
        cli.pingInterval = Duration.ofMillis(1);
        cli.upPollInterval = Duration.ofMillis(1);
        return LatticeCli.capture(cli, withSocket(args));
    }

    record Run(LatticeCli.Result result, boolean fellBack) {}

    Run viaCliMain(List<String> args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        boolean[] fellBack = {false};
        int code = CliMain.run(withSocket(args), out, err, a -> {
            fellBack[0] = true;
            LatticeCli cli = new LatticeCli();
            cli.clock = CLOCK;
            cli.pingInterval = Duration.ofMillis(1);
            cli.upPollInterval = Duration.ofMillis(1);
            PrintWriter o = new PrintWriter(out, true, StandardCharsets.UTF_8);
            PrintWriter e = new PrintWriter(err, true, StandardCharsets.UTF_8);
            return LatticeCli.run(cli, a, o, e);
        });
        return new Run(new LatticeCli.Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)),
                fellBack[0]);
    }

    /** The socket option first (as the bench and most scripts give it), or where the case puts it. */
    String[] withSocket(List<String> args) {
        List<String> all = new ArrayList<>();
        String sock = "--socket=" + server.path();
        if (args.contains("--socket=SOCKET")) {
            args.forEach(a -> all.add(a.equals("--socket=SOCKET") ? sock : a));
        } else {
            all.add(sock);
            all.addAll(args);
        }
        return all.toArray(String[]::new);
    }

    @ParameterizedTest
    @MethodSource("quick")
    void latticedRunsTheQuickCommandsWithLatticeClisOutput(Case c) {
        c.setup().accept(backend);
        LatticeCli.Result expected = viaLatticeCli(c.args());
        List<UpRequest> expectedUps = List.copyOf(backend.ups);
        List<MaskedPrefs> expectedEdits = List.copyOf(backend.edits);
        backend.ups.clear();
        backend.edits.clear();
        c.setup().accept(backend);
        Run actual = viaCliMain(c.args());
        assertThat(actual.fellBack()).as("run without LatticeCli").isFalse();
        assertThat(actual.result()).isEqualTo(expected);
        assertThat(backend.ups).as("the same up requests").isEqualTo(expectedUps);
        assertThat(backend.edits).isEqualTo(expectedEdits);
    }

    /** An up asks for the status (every peer) only to find an exit node given by name or address. */
    @Test
    void upAsksForTheStatusOnlyForAnExitNode() {
        backend.pollsUntilRunning = -1;
        backend.upResult = new UpResult(BackendState.Running, null);
        Run plain = viaCliMain(List.of("up", "--login-server=http://ctl", "--authkey=k", "--hostname=box"));
        assertThat(plain.fellBack()).isFalse();
        assertThat(plain.result().code()).isZero();
        assertThat(backend.calls).containsExactly("prefs", "up");

        backend.calls.clear();
        Run exit = viaCliMain(List.of("up", "--exit-node=nobody"));
        assertThat(exit.result().code()).isEqualTo(1);
        assertThat(backend.calls).containsExactly("status", "prefs");
    }

    @Test
    void upReadsTheKeyFileInTheCliAndSendsTheKey() throws Exception {
        Path key = Files.writeString(dir.resolve("key"), "tskey-auth-123\n");
        Run r = viaCliMain(List.of("up", "--authkey=file:" + key, "--hostname=box"));
        assertThat(r.fellBack()).isFalse();
        assertThat(r.result()).isEqualTo(new LatticeCli.Result(0, "", ""));
        assertThat(backend.ups.getLast().authKey()).isEqualTo("tskey-auth-123");
        Run spaced = viaCliMain(List.of("up", "--auth-key", "file:" + key));
        assertThat(spaced.fellBack()).isFalse();
        assertThat(backend.ups.getLast().authKey()).isEqualTo("tskey-auth-123");

        // A file the CLI cannot read is LatticeCli's to report, with its words.
        List<String> missing = List.of("up", "--authkey=file:" + dir.resolve("missing"));
        Run m = viaCliMain(missing);
        assertThat(m.fellBack()).isTrue();
        assertThat(m.result()).isEqualTo(viaLatticeCli(missing));
        assertThat(m.result().err()).startsWith("reading authkey from file:");
    }

    @Test
    void latticedNeverReadsAKeyFileForACaller() throws Exception {
        // latticed runs as root: a caller naming a file it may not read itself must not get it read for it
        Path key = Files.writeString(dir.resolve("root-only"), "secret-key\n");
        assertThat(QuickCli.accept(List.of("up", "--authkey=file:" + key), CLOCK, Duration.ZERO)).isEmpty();
        assertThat(QuickCli.accept(List.of("up", "--auth-key", "file:" + key), CLOCK, Duration.ZERO)).isEmpty();
        assertThat(post(List.of("up", "--authkey=file:" + key))).startsWith("HTTP/1.1 404");
        assertThat(backend.ups).isEmpty();
    }

    @Test
    void upKeepsTheKeyOutOfToString() {
        var p = (QuickArgs.UpArgs) QuickArgs.parse(List.of("up", "--authkey=tskey-auth-secret"));
        assertThat(p.authKey()).isEqualTo("tskey-auth-secret");
        assertThat(p.toString()).doesNotContain("tskey-auth-secret").contains("authKey=(hidden)");
        assertThat(new UpRequest(null, "tskey-auth-secret", null, null, null, null, false).toString())
                .doesNotContain("tskey-auth-secret");
        assertThat(QuickArgs.withAuthKey(new String[] {"--socket=/s", "up", "--auth-key", "file:/k", "--reset"}, "K"))
                .containsExactly("--socket=/s", "up", "--auth-key", "K", "--reset");
        assertThat(QuickArgs.withAuthKey(new String[] {"up", "--hostname=h", "--auth-key=file:/k"}, "K"))
                .containsExactly("up", "--hostname=h", "--authkey=K");
    }

    @Test
    void upRunsWithTheCallersAccess() throws Exception {
        // A user who may not write gets the refusal its own POST up would get, however it asks.
        server.close();
        server = LocalApiServer.start(dir.resolve("ro.sock"), backend, LocalApiServer.Options.defaults()
                .withMayWrite(peer -> false).withCli(args -> QuickCli.accept(args, CLOCK, Duration.ofMillis(1))));
        List<String> args = List.of("up", "--authkey=k");
        LatticeCli.Result expected = viaLatticeCli(args);
        Run r = viaCliMain(args);
        assertThat(r.fellBack()).isFalse();
        assertThat(r.result()).isEqualTo(expected);
        assertThat(r.result().code()).isEqualTo(1);
        assertThat(r.result().err()).contains("denied");
        assertThat(backend.ups).isEmpty();
    }

    @Test
    void anInteractiveUpStopsWaitingWhenTheCliGoesAway() throws Exception {
        backend.upResult = new UpResult(BackendState.NeedsLogin, "http://ctl/register/abc");
        backend.pollsUntilRunning = -1;
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(server.path()))) {
            send(ch, List.of("up", "--login-server=http://ctl"));
            InputStream in = Channels.newInputStream(ch);
            assertThat(CliMain.okStatus(in)).isTrue();
            byte[] frame = in.readNBytes(5);
            assertThat(frame[0]).as("the login URL").isEqualTo(CliRoute.STDERR);
        }
        int polls = waitUntilStable(this::statusCalls);
        Thread.sleep(100);
        assertThat(statusCalls()).as("no more status polls").isEqualTo(polls);
    }

    /** The backend's status calls so far, read under its lock (a poll may be adding one). */
    private int statusCalls() {
        synchronized (backend) {
            return (int) backend.calls.stream().filter("status"::equals).count();
        }
    }

    /** Sends a raw request to the CLI route: {@code args}, each ended by NUL. */
    private static void send(SocketChannel ch, List<String> args) throws IOException {
        byte[] body = (String.join("\0", args) + "\0").getBytes(StandardCharsets.UTF_8);
        String head = "POST " + CliRoute.PATH + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length + "\r\n\r\n";
        ch.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.ISO_8859_1)));
        ch.write(ByteBuffer.wrap(body));
    }

    /** One raw request to the CLI route: the answer's status line. */
    private String post(List<String> args) throws Exception {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(server.path()))) {
            send(ch, args);
            String answer = new String(Channels.newInputStream(ch).readNBytes(12), StandardCharsets.ISO_8859_1);
            return answer;
        }
    }

    @ParameterizedTest
    @MethodSource("declined")
    void everythingElseIsLatticeClis(Case c) {
        c.setup().accept(backend);
        LatticeCli.Result expected = viaLatticeCli(c.args());
        c.setup().accept(backend);
        Run actual = viaCliMain(c.args());
        assertThat(actual.fellBack()).as("handed to LatticeCli").isTrue();
        assertThat(actual.result()).isEqualTo(expected);
        assertThat(QuickCli.accept(c.args(), CLOCK, Duration.ZERO)).as("latticed does not take it either").isEmpty();
    }

    /** tailscale's "# Funnel on:" section after the table: one URL per funneled host:port, none when Funnel is off. */
    @Test
    void statusEndsWithTheFunnelSectionWhenFunnelIsOn() {
        tailnet(backend);
        String plain = viaCliMain(List.of("status")).result().out();
        assertThat(plain).doesNotContain("Funnel");
        backend.serve = dev.lattice.agent.serve.ServeConfig.parse("""
                {"TCP":{"443":{"HTTPS":true},"8443":{"HTTPS":true},"10000":{"TCPForward":"127.0.0.1:22"},"80":{"HTTP":true}},
                 "Web":{"me.tail.example:443":{"Handlers":{"/":{"Text":"hi"}}},"me.tail.example:8443":{"Handlers":{"/":{"Text":"hi"}}},
                        "me.tail.example:80":{"Handlers":{"/":{"Text":"hi"}}}},
                 "AllowFunnel":{"me.tail.example:443":true,"me.tail.example:8443":true,"me.tail.example:10000":true,
                                "me.tail.example:80":false}}
                """.getBytes(StandardCharsets.UTF_8));
        Run quick = viaCliMain(List.of("status"));
        assertThat(quick.fellBack()).isFalse();
        assertThat(quick.result().out()).isEqualTo(plain + """

                # Funnel on:
                #     - tcp://me.tail.example:10000
                #     - https://me.tail.example
                #     - https://me.tail.example:8443

                """);
        assertThat(viaLatticeCli(List.of("status")).out()).isEqualTo(quick.result().out());
        backend.serve = dev.lattice.agent.serve.ServeConfig.parse("""
                {"TCP":{"443":{"HTTPS":true}},"Web":{"me.tail.example:443":{"Handlers":{"/":{"Text":"hi"}}}},
                 "AllowFunnel":{"me.tail.example:443":false}}
                """.getBytes(StandardCharsets.UTF_8));
        assertThat(viaCliMain(List.of("status")).result().out()).isEqualTo(plain);
    }

    @Test
    void aMissingDaemonIsTheSameOneLine() {
        Path none = dir.resolve("nothing-here.sock");
        for (List<String> args : List.of(List.of("status"), List.of("ip"), List.of("ping", "peer-a"))) {
            List<String> all = new ArrayList<>(List.of("--socket=" + none));
            all.addAll(args);
            LatticeCli.Result expected = LatticeCli.capture(all.toArray(String[]::new));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = CliMain.run(all.toArray(String[]::new), out, err, a -> {
                throw new AssertionError("no fallback needed to say the daemon is not running");
            });
            assertThat(new LatticeCli.Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)))
                    .as(args.toString()).isEqualTo(expected);
        }
    }

    @Test
    void aDaemonWithoutTheRouteLeavesTheCommandToLatticeCli() throws Exception {
        server.close();
        server = LocalApiServer.start(dir.resolve("old.sock"), backend); // no withCli: as a daemon from before it
        tailnet(backend);
        Run r = viaCliMain(List.of("status"));
        assertThat(r.fellBack()).isTrue();
        assertThat(r.result()).isEqualTo(viaLatticeCli(List.of("status")));
    }

    @Test
    void aPingStopsWhenTheCliGoesAway() throws Exception {
        tailnet(backend);
        for (int i = 0; i < 10_000; i++) backend.pings.add(derpPong("100.64.0.5"));
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(server.path()))) {
            send(ch, List.of("ping", "-c", "0", "100.64.0.5"));
            InputStream in = Channels.newInputStream(ch);
            assertThat(CliMain.okStatus(in)).isTrue();
            byte[] frame = in.readNBytes(5);
            assertThat(frame[0]).isEqualTo(CliRoute.STDOUT);
        }
        // ping -c 0 pings forever; with the CLI gone the daemon stops at its next line of output
        int left = waitUntilStable(() -> backend.pings.size());
        Thread.sleep(100);
        assertThat(backend.pings.size()).as("no more pings").isEqualTo(left).isGreaterThan(9_000);
    }

    private static int waitUntilStable(java.util.function.IntSupplier count) throws InterruptedException {
        int last = -1;
        for (int i = 0; i < 100; i++) {
            int now = count.getAsInt();
            if (now == last) return now;
            last = now;
            Thread.sleep(50);
        }
        throw new AssertionError("the daemon kept going for a CLI that is gone");
    }

    @Test
    void quickArgsTable() {
        record Row(List<String> args, QuickArgs.Parsed want) {}
        Path s = Path.of("/s");
        var rows = List.of(
                new Row(List.of("status"), new QuickArgs.StatusArgs(null, false, true, true, false, false)),
                new Row(List.of("--socket", "/s", "status", "--json"), new QuickArgs.StatusArgs(s, true, true, true, false, false)),
                new Row(List.of("status", "--socket", "/s", "--self=FALSE", "--peers=true"),
                        new QuickArgs.StatusArgs(s, false, false, true, false, false)),
                new Row(List.of("--socket=/s", "ip", "-4", "peer"), new QuickArgs.IpArgs(s, true, false, false, List.of("peer"))),
                new Row(List.of("ping", "host", "-c", "3", "--timeout=1.5s", "--until-direct=false"),
                        new QuickArgs.PingArgs(null, 3, Duration.ofMillis(1500), false, false, "host")),
                new Row(List.of("version"), new QuickArgs.Version()),
                new Row(List.of("--socket", "status"), null),
                new Row(List.of("--socket="), null),
                new Row(List.of("--socket=/a", "--socket=/b", "status"), null),
                new Row(List.of("status", "--socket=/a", "--socket=/b"), null),
                new Row(List.of("ip", "-"), null),
                new Row(List.of("ping", "-c", "010", "h"), null),
                new Row(List.of("ping", "--until-direct", "true", "h"), null),
                new Row(List.of("ping", "--verbose=true", "h"), null),
                new Row(List.of("version", "x"), null),
                new Row(List.of("up", "--auth-key", "k", "--accept-routes", "--exit-node", "", "--timeout=1s"),
                        new QuickArgs.UpArgs(null, null, "k", null, null, true, null, false, Duration.ofSeconds(1),
                                new RouteFlags(null, null, "", null, null, null))),
                new Row(List.of("up", "--authkey=k", "--authkey=k"), null),
                new Row(List.of("up", "--shields-up=maybe"), null));
        for (Row r : rows) assertThat(QuickArgs.parse(r.args())).as(r.args().toString()).isEqualTo(r.want());
    }

    @Test
    void framesKeepTheOrderOfTheTwoStreams() {
        // ping --verbose writes a stderr line between stdout lines: the terminal must see them in that order
        tailnet(backend);
        backend.pings.add(derpPong("100.64.0.2"));
        backend.pings.add(directPong("100.64.0.2"));
        ByteArrayOutputStream both = new ByteArrayOutputStream();
        int code = CliMain.run(withSocket(List.of("ping", "--verbose", "peer-a")), both, both, a -> {
            throw new AssertionError("quick");
        });
        assertThat(code).isZero();
        assertThat(both.toString(StandardCharsets.UTF_8)).isEqualTo("lookup \"peer-a\" => \"100.64.0.2\"\n"
                + "pong from peer-a.tail.example. (100.64.0.2) via DERP(lab) in 23ms\n"
                + "pong from peer-a.tail.example. (100.64.0.2) via 10.0.0.2:41641 in 1ms\n");
    }
}
