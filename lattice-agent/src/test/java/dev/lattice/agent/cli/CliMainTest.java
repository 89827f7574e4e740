package dev.lattice.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.agent.localapi.CliRoute;
import dev.lattice.agent.localapi.FakeBackend;
import dev.lattice.agent.localapi.LocalApiServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code lattice} process's own part: what it loads, the version it answers itself, and how it reads latticed's
 * framed answer (QuickCliTest checks the commands' output against LatticeCli's).
 */
class CliMainTest {
    @TempDir
    Path dir;

    /** The quick path's footprint is what makes it quick: a fresh JVM running it loads no picocli, Jackson or Netty. */
    @Test
    void theQuickPathLoadsNoPicocliJacksonNettyOrLogback() throws Exception {
        FakeBackend backend = new FakeBackend();
        try (LocalApiServer server = LocalApiServer.start(dir.resolve("latticed.sock"), backend,
                LocalApiServer.Options.defaults().withCli(QuickCli::accept))) {
            for (List<String> args : List.of(List.of("--socket=" + server.path(), "status"), List.of("version"))) {
                Run r = freshJvm(args);
                assertThat(r.code()).as(args.toString()).isZero();
                assertThat(r.out()).as(args.toString()).startsWith(args.contains("version") ? CliMain.clientVersion() : "100.64.0.1  me");
                assertThat(r.classLog()).as(args.toString()).contains("dev.lattice.agent.cli.CliMain ")
                        .doesNotContain("picocli.").doesNotContain("tools.jackson.").doesNotContain("io.netty.")
                        .doesNotContain("ch.qos.logback.").doesNotContain("org.slf4j.");
            }
        }
    }

    /** {@code up} too, with a key file read by the CLI: the daemon logs in, the CLI only copies its output. */
    @Test
    void upWithAKeyFileLoadsNoPicocliOrJackson() throws Exception {
        FakeBackend backend = new FakeBackend();
        java.nio.file.Path key = java.nio.file.Files.writeString(dir.resolve("key"), "tskey-auth-1\n");
        try (LocalApiServer server = LocalApiServer.start(dir.resolve("latticed.sock"), backend,
                LocalApiServer.Options.defaults().withCli(QuickCli::accept))) {
            Run r = freshJvm(List.of("--socket=" + server.path(), "up", "--authkey=file:" + key, "--hostname=box"));
            assertThat(r.code()).isZero();
            assertThat(r.out()).isEmpty();
            assertThat(backend.ups).hasSize(1);
            assertThat(backend.ups.getFirst().authKey()).isEqualTo("tskey-auth-1");
            assertThat(r.classLog()).contains("dev.lattice.agent.cli.CliMain ").doesNotContain("picocli.")
                    .doesNotContain("tools.jackson.").doesNotContain("io.netty.").doesNotContain("ch.qos.logback.");
        }
    }

    /**
     * up's and ping's default timeouts ("0s", "5s") are read without BigDecimal: its class initialisation took ~7-13 ms
     * of every `lattice up` on the development machine, and no AOT cache holds it.
     */
    @Test
    void upAndPingReadTheirDurationsWithoutBigDecimal() throws Exception {
        FakeBackend backend = new FakeBackend();
        try (LocalApiServer server = LocalApiServer.start(dir.resolve("latticed.sock"), backend,
                LocalApiServer.Options.defaults().withCli(QuickCli::accept))) {
            for (List<String> args : List.of(List.of("--socket=" + server.path(), "up", "--authkey=tskey-auth-1", "--timeout=30s"),
                    List.of("--socket=" + server.path(), "ping", "-c", "1", "100.64.0.2"))) {
                Run r = freshJvm(args);
                assertThat(r.classLog()).as(args.toString()).contains("dev.lattice.agent.cli.GoDuration ")
                        .doesNotContain("java.math.BigDecimal ");
            }
        }
    }

    /** latticed's warm-up of its own CLI route: a status it answers, nothing printed anywhere. */
    @Test
    void warmDaemonRunsAStatusThroughTheRoute() throws Exception {
        FakeBackend backend = new FakeBackend();
        try (LocalApiServer server = LocalApiServer.start(dir.resolve("latticed.sock"), backend,
                LocalApiServer.Options.defaults().withCli(QuickCli::accept))) {
            CliMain.warmDaemon(server.path());
            assertThat(backend.calls).containsExactly("status");
        }
        CliMain.warmDaemon(dir.resolve("gone.sock")); // no daemon: no exception, nothing printed
    }

    @Test
    void theTrainingRunIsAHiddenArgumentOnTheQuickPath() throws Exception {
        Run r = freshJvm(List.of(CliTraining.ARG));
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.classLog()).contains("dev.lattice.agent.cli.CliTraining ").doesNotContain("picocli.")
                .doesNotContain("tools.jackson.").doesNotContain("io.netty.");
    }

    /** What the quick path does not load stays unopened: no service lookup scans the class path (lattice.jar). */
    @Test
    void theQuickPathLooksUpNoServices() throws Exception {
        FakeBackend backend = new FakeBackend();
        try (LocalApiServer server = LocalApiServer.start(dir.resolve("latticed.sock"), backend,
                LocalApiServer.Options.defaults().withCli(QuickCli::accept))) {
            for (List<String> args : List.of(List.of("--socket=" + server.path(), "status"), List.of("version"))) {
                Run r = freshJvm(args);
                assertThat(r.code()).as(args.toString()).isZero();
                // ServiceLoader's class path lookup (System.exit's logger, SelectorProvider.provider())
                assertThat(r.classLog()).as(args.toString()).doesNotContain("java.util.ServiceLoader$LazyClassPathLookupIterator ");
            }
        }
    }

    @Test
    void theFallbackStillLoadsPicocliForEverythingElse() throws Exception {
        Run r = freshJvm(List.of("status", "--help"));
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("Usage: lattice status").contains("--json");
        assertThat(r.classLog()).contains("picocli.CommandLine ");
    }

    @Test
    void defaultSocketIsTheDaemons() {
        assertThat(CliMain.DEFAULT_SOCKET).isEqualTo(LocalApiServer.DEFAULT_SOCKET);
    }

    @Test
    void versionIsLatticeClisWithoutAskingIt() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = CliMain.run(new String[] {"version"}, out, err, a -> {
            throw new AssertionError("version needs no picocli");
        });
        LatticeCli.Result want = LatticeCli.capture("version");
        assertThat(new LatticeCli.Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)))
                .isEqualTo(want);
    }

    static byte[] frame(byte kind, byte[] data) {
        return ByteBuffer.allocate(5 + data.length).put(kind).putInt(data.length).put(data).array();
    }

    static byte[] exit(int code) {
        return frame(CliRoute.EXIT, ByteBuffer.allocate(4).putInt(code).array());
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) b.writeBytes(p);
        return b.toByteArray();
    }

    @Test
    void framesAreCopiedToTheirStreamsUntilTheExitCode() throws Exception {
        byte[] in = concat(frame(CliRoute.STDOUT, "a\n".getBytes(StandardCharsets.UTF_8)),
                frame(CliRoute.STDERR, "b\n".getBytes(StandardCharsets.UTF_8)),
                frame(CliRoute.STDOUT, "c\n".getBytes(StandardCharsets.UTF_8)), exit(3),
                frame(CliRoute.STDOUT, "after the end\n".getBytes(StandardCharsets.UTF_8)));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertThat(CliMain.copyFrames(new ByteArrayInputStream(in), out, err)).isEqualTo(3);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("a\nc\n");
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("b\n");
    }

    @Test
    void brokenAnswersAreErrorsNotHangsOrCodes() {
        record Row(String name, byte[] in, Class<? extends IOException> want) {}
        byte[] out = frame(CliRoute.STDOUT, "x".getBytes(StandardCharsets.UTF_8));
        var rows = List.of(
                new Row("no exit frame", out, EOFException.class),
                new Row("cut inside a header", new byte[] {CliRoute.STDOUT, 0, 0}, EOFException.class),
                new Row("cut inside data", ByteBuffer.allocate(7).put(CliRoute.STDOUT).putInt(10).put((byte) 1).put((byte) 2).array(),
                        EOFException.class),
                new Row("negative length", ByteBuffer.allocate(5).put(CliRoute.STDOUT).putInt(-1).array(), IOException.class),
                new Row("unknown kind", frame((byte) 'z', new byte[1]), IOException.class),
                new Row("exit of 3 bytes", frame(CliRoute.EXIT, new byte[3]), IOException.class));
        for (Row r : rows) {
            assertThatThrownBy(() -> CliMain.copyFrames(new ByteArrayInputStream(r.in()), OutputStream.nullOutputStream(), OutputStream.nullOutputStream()))
                    .as(r.name()).isInstanceOf(r.want());
        }
    }

    @Test
    void aDaemonThatDiesMidAnswerIsOneLineAndExitCode1() throws Exception {
        Path sock = dir.resolve("dying.sock");
        try (ServerSocketChannel srv = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            srv.bind(UnixDomainSocketAddress.of(sock));
            Thread t = Thread.ofVirtual().start(() -> {
                try (SocketChannel c = srv.accept()) {
                    c.read(ByteBuffer.allocate(4096));
                    c.write(ByteBuffer.wrap(concat("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1),
                            frame(CliRoute.STDOUT, "100.64.0.1\n".getBytes(StandardCharsets.UTF_8)))));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = CliMain.run(new String[] {"--socket=" + sock, "ip"}, out, err, a -> {
                throw new AssertionError("the daemon took it");
            });
            t.join();
            assertThat(code).isEqualTo(1);
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("100.64.0.1\n");
            assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("local API POST " + CliRoute.PATH + " failed: ")
                    .endsWith("\n").hasLineCount(1);
        }
    }

    @Test
    @Timeout(30) // without the daemon closing the connection, the CLI would wait for ever
    void aCommandThatBlowsUpInTheDaemonEndsTheCallWithOneLine() throws Exception {
        try (LocalApiServer server = LocalApiServer.start(dir.resolve("latticed.sock"), new FakeBackend(),
                LocalApiServer.Options.defaults().withCli(args -> Optional.of((client, o, e) -> {
                    o.print("partial ");
                    o.flush();
                    throw new StackOverflowError("deep");
                })))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = CliMain.run(new String[] {"--socket=" + server.path(), "status"}, out, err, a -> {
                throw new AssertionError("the daemon took it");
            });
            assertThat(code).isEqualTo(1);
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("partial ");
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("closed the connection before the command finished")
                    .hasLineCount(1);
        }
    }

    @Test
    void notAnHttpAnswerIsLeftToLatticeCli() throws Exception {
        assertThat(CliMain.okStatus(new ByteArrayInputStream("HTTP/1.1 404 Not Found\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1))))
                .isFalse();
        assertThat(CliMain.okStatus(new ByteArrayInputStream("HTTP/1.1 200 OK\r\nX: y\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1))))
                .isTrue();
        assertThat(CliMain.okStatus(new ByteArrayInputStream("SSH-2.0-x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)))).isFalse();
        assertThatThrownBy(() -> CliMain.okStatus(new ByteArrayInputStream("HTTP/1.1 200".getBytes(StandardCharsets.ISO_8859_1))))
                .isInstanceOf(EOFException.class);
    }

    record Run(int code, String out, String classLog) {}

    /** {@link CliMain} in a new JVM with class loading logged to stderr. */
    static Run freshJvm(List<String> args) throws Exception {
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(javaBin.toString(), "-Xshare:auto", "-Xlog:class+load=info:stderr",
                "-cp", System.getProperty("java.class.path"), CliMain.class.getName()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).start();
        var errF = CompletableFuture.supplyAsync(() -> {
            try (var e = p.getErrorStream()) {
                return new String(e.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        String out;
        try (var o = p.getInputStream()) {
            out = new String(o.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out, errF.get(60, TimeUnit.SECONDS));
    }
}
