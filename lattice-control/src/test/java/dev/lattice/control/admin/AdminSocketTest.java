package dev.lattice.control.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.server.ControlServer;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin socket: its file mode, stale and live sockets, and the plain HTTP it speaks. */
class AdminSocketTest {
    @TempDir
    Path dir;
    ControlServer server;

    @BeforeEach
    void start() throws Exception {
        server = AdminTestServer.start(dir, "unix_socket_permission: \"0600\"\n");
    }

    @AfterEach
    void stop() {
        server.close();
    }

    static String exchange(Path sock, String request) throws IOException {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
            c.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.ISO_8859_1)));
            ByteBuffer b = ByteBuffer.allocate(1 << 16);
            while (c.read(b) >= 0 && b.hasRemaining()) {
                // read to EOF (the server closes after Connection: close)
            }
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void modeIsAppliedToTheSocketFile() throws Exception {
        Path sock = dir.resolve("run/lattice.sock");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sock))).isEqualTo("rw-------");
        // No leftovers from binding in a private directory first.
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".sock"));
        }
    }

    @Test
    void speaksHttpWithoutAnApiKey() throws Exception {
        String r = exchange(dir.resolve("run/lattice.sock"),
                "GET /api/v1/user HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(r).startsWith("HTTP/1.1 200 OK").contains("{\"users\":[]}");
        String bad = exchange(dir.resolve("run/lattice.sock"), "garbage\r\n\r\n");
        assertThat(bad).startsWith("HTTP/1.1 400");
    }

    @Test
    void aSecondServerOnTheSameSocketIsRefused() {
        assertThatThrownBy(() -> AdminSocket.start(dir.resolve("run/lattice.sock"), 0600, server.adminApi()))
                .isInstanceOf(IOException.class).hasMessageContaining("already listening");
    }

    @Test
    void aStaleSocketIsReplacedButARegularFileIsNot() throws Exception {
        Path stale = dir.resolve("stale.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(stale)); // closed without unlinking, like a killed server
        }
        assertThat(stale).exists();
        try (AdminSocket a = AdminSocket.start(stale, 0660, server.adminApi())) {
            assertThat(exchange(stale, "GET /api/v1/health HTTP/1.1\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 200");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(stale))).isEqualTo("rw-rw----");
        }
        assertThat(stale).doesNotExist();

        Path file = Files.writeString(dir.resolve("file.sock"), "precious");
        assertThatThrownBy(() -> AdminSocket.start(file, 0600, server.adminApi()))
                .isInstanceOf(IOException.class).hasMessageContaining("not a socket");
        assertThat(Files.readString(file)).isEqualTo("precious");
    }
}
