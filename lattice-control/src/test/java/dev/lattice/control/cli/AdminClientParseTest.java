package dev.lattice.control.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The CLI's reading of the server's HTTP answers: errors become their message, garbage a clear CliException. */
class AdminClientParseTest {
    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void okBodyIsReturned() {
        var j = AdminClient.parse(bytes("HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n{\"users\":[]}"));
        assertThat(j.get("users").isArray()).isTrue();
    }

    @Test
    void errorBecomesTheServersMessage() {
        String body = "{\"code\":5,\"message\":\"user \\\"bob\\\" not found\",\"details\":[]}";
        assertThatThrownBy(() -> AdminClient.parse(bytes(
                "HTTP/1.1 404 Not Found\r\ncontent-length: " + bytes(body).length + "\r\n\r\n" + body)))
                .isInstanceOf(CliException.class).hasMessage("user \"bob\" not found");
        assertThatThrownBy(() -> AdminClient.parse(bytes("HTTP/1.1 413 Request Entity Too Large\r\ncontent-length: 0\r\n\r\n")))
                .isInstanceOf(CliException.class).hasMessage("lattice-control answered HTTP 413");
    }

    @ParameterizedTest
    @ValueSource(longs = {11, 12, 13, 14, 15, 16})
    void mutatedResponsesFailOnlyAsCliException(long seed) {
        Random r = new Random(seed);
        byte[] good = bytes("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 25\r\n\r\n{\"user\":{\"id\":\"1\",\"x\":2}}");
        for (int i = 0; i < 2000; i++) {
            byte[] b = r.nextInt(5) == 0 ? new byte[r.nextInt(200)] : good.clone();
            if (b.length != good.length) r.nextBytes(b);
            int flips = 1 + r.nextInt(4);
            for (int f = 0; f < flips && b.length > 0; f++) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            if (r.nextBoolean() && b.length > 0) b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
            try {
                assertThat(AdminClient.parse(b).isObject()).isTrue();
            } catch (CliException e) {
                assertThat(e.getMessage()).isNotBlank();
            }
        }
    }
}
