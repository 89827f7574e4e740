package dev.lattice.systemd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What reaches the service manager: each message is checked by a receiver that is not ours (Python's socket
 * module binding a unix datagram socket, as systemd does), so a wrong sockaddr or payload cannot pass.
 */
class SystemdNotifyTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "/run/systemd/notify, 2f72756e2f73797374656d642f6e6f7469667900",
            "@abc,                00616263",
    })
    void sunPathBytes(String notifySocket, String hex) throws IOException {
        assertThat(java.util.HexFormat.of().formatHex(SystemdNotify.address(notifySocket))).isEqualTo(hex);
    }

    @Test
    void refusesAddressesItCannotSendTo() {
        assertThatThrownBy(() -> SystemdNotify.address("vsock:2:1234")).hasMessageContaining("unsupported");
        assertThatThrownBy(() -> SystemdNotify.address("/" + "x".repeat(107))).hasMessageContaining("longer than 108");
        assertThatCode(() -> SystemdNotify.address("/" + "x".repeat(106))).doesNotThrowAnyException();
    }

    @Test
    void readyReachesAPathSocket() throws Exception {
        Path sock = dir.resolve("notify");
        String got = receiveOne(sock.toString(), n -> n.ready("serving on 127.0.0.1:8080"));
        assertThat(got).isEqualTo("READY=1\nSTATUS=serving on 127.0.0.1:8080");
    }

    @Test
    void stoppingReachesAnAbstractSocket() throws Exception {
        String name = "@lattice-notify-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        assertThat(receiveOne(name, SystemdNotify::stopping)).isEqualTo("STOPPING=1");
    }

    @Test
    void statusIsOneLine() throws Exception {
        Path sock = dir.resolve("notify");
        assertThat(receiveOne(sock.toString(), n -> n.status("a\nb"))).isEqualTo("STATUS=a b");
    }

    @Test
    void withoutNotifySocketNothingIsSent() {
        SystemdNotify n = SystemdNotify.forSocket(null);
        assertThat(n.socket()).isEmpty();
        assertThatCode(() -> n.ready("x")).doesNotThrowAnyException();
        assertThat(SystemdNotify.forSocket(" ").socket()).isEmpty();
    }

    @Test
    void aMissingSocketIsLoggedNotThrown() {
        SystemdNotify n = SystemdNotify.forSocket(dir.resolve("nobody-listens").toString());
        assertThatCode(() -> n.ready("x")).doesNotThrowAnyException();
        assertThatThrownBy(() -> SystemdNotify.send(dir.resolve("nobody-listens").toString(), "READY=1"))
                .isInstanceOf(IOException.class).hasMessageContaining("sendto");
    }

    /** Binds {@code address} with Python, runs {@code send}, returns the one datagram Python received. */
    private static String receiveOne(String address, Consumer<SystemdNotify> send) throws Exception {
        assumeTrue(python3Available(), "python3 not found: it receives the datagrams (.ci/run installs it)");
        String script = """
                import base64, socket, sys
                a = sys.argv[1]
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                s.bind("\\0" + a[1:] if a.startswith("@") else a)
                s.settimeout(10)
                print("bound", flush=True)
                print(base64.b64encode(s.recv(4096)).decode(), flush=True)
                """;
        Process p = new ProcessBuilder("python3", "-c", script, address).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(out.readLine()).isEqualTo("bound");
            send.accept(SystemdNotify.forSocket(address));
            String line = out.readLine();
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as("receiver output: %s", line).isZero();
            return new String(Base64.getDecoder().decode(line), StandardCharsets.UTF_8);
        } finally {
            p.destroyForcibly();
            if (!address.startsWith("@")) Files.deleteIfExists(Path.of(address));
        }
    }

    private static boolean python3Available() {
        try {
            return new ProcessBuilder("python3", "-c", "pass").start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
