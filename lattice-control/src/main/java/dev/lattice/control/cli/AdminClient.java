package dev.lattice.control.cli;

import dev.lattice.control.admin.AdminJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * One HTTP/1.1 request per connection to the server's admin socket (see
 * {@link dev.lattice.control.admin.AdminSocket}). Errors come back as {@link CliException}s carrying the server's
 * message, or saying that the server cannot be reached.
 */
final class AdminClient {
    /** Generous (a listing of tens of thousands of nodes) but bounded. */
    static final int MAX_RESPONSE = 256 << 20;

    private final Path socket;

    AdminClient(Path socket) {
        this.socket = socket;
    }

    Path socket() {
        return socket;
    }

    JsonNode get(String path) {
        return call("GET", path, null);
    }

    JsonNode post(String path, JsonNode body) {
        return call("POST", path, body);
    }

    JsonNode delete(String path) {
        return call("DELETE", path, null);
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    JsonNode call(String method, String path, JsonNode body) {
        byte[] payload = body == null ? new byte[0] : AdminJson.mapper().writeValueAsBytes(body);
        String head = method + " " + path + " HTTP/1.1\r\nHost: lattice-control\r\nConnection: close\r\n"
                + (body == null ? "" : "Content-Type: application/json\r\n")
                + "Content-Length: " + payload.length + "\r\n\r\n";
        byte[] raw;
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                throw unreachable(e);
            }
            ch.write(new ByteBuffer[] {ByteBuffer.wrap(head.getBytes(StandardCharsets.ISO_8859_1)), ByteBuffer.wrap(payload)});
            raw = readAll(ch);
        } catch (IOException e) {
            throw new CliException("talking to lattice-control at " + socket + " failed: " + e.getMessage(), e);
        }
        return parse(raw);
    }

    private CliException unreachable(IOException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (m.contains("permission denied") || m.contains("access denied")) {
            return new CliException("permission denied on " + socket
                    + ": run as the server's user or a member of its group (see unix_socket_permission)", e);
        }
        if (!Files.exists(socket) || m.contains("connection refused") || m.contains("no such file")) {
            return new CliException("cannot reach lattice-control at " + socket + ": is the server running?", e);
        }
        return new CliException("cannot reach lattice-control at " + socket + ": " + e.getMessage(), e);
    }

    private static byte[] readAll(SocketChannel ch) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        ByteBuffer buf = ByteBuffer.allocate(64 << 10);
        while (ch.read(buf) >= 0) {
            buf.flip();
            if (out.size() + buf.remaining() > MAX_RESPONSE) throw new IOException("response larger than " + MAX_RESPONSE + " bytes");
            out.write(buf.array(), 0, buf.remaining());
            buf.clear();
        }
        return out.toByteArray();
    }

    /** Status line, headers (only Content-Length matters), JSON body; a non-2xx status becomes its message. */
    static JsonNode parse(byte[] raw) {
        int end = indexOf(raw, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        if (end < 0) throw new CliException("lattice-control sent a malformed response");
        String[] lines = new String(raw, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
        String[] status = lines[0].split(" ", 3);
        int code;
        try {
            if (status.length < 2 || !status[0].startsWith("HTTP/1.")) throw new NumberFormatException();
            code = Integer.parseInt(status[1]);
        } catch (NumberFormatException e) {
            throw new CliException("lattice-control sent a malformed response");
        }
        int len = raw.length - end - 4;
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c > 0 && lines[i].substring(0, c).trim().equalsIgnoreCase("content-length")) {
                try {
                    len = Math.min(len, Integer.parseInt(lines[i].substring(c + 1).trim()));
                } catch (NumberFormatException e) {
                    throw new CliException("lattice-control sent a malformed response");
                }
            }
        }
        if (len < 0) throw new CliException("lattice-control sent a malformed response");
        JsonNode json;
        try {
            json = len == 0 ? null : AdminJson.mapper().readTree(raw, end + 4, len);
        } catch (JacksonException e) {
            json = null;
        }
        if (code / 100 != 2) {
            JsonNode m = json == null ? null : json.get("message");
            String text = m != null && m.isString() ? m.asString()
                    : new String(raw, end + 4, len, StandardCharsets.UTF_8).strip();
            throw new CliException(text.isEmpty() ? "lattice-control answered HTTP " + code : text);
        }
        if (json == null || !json.isObject()) throw new CliException("lattice-control sent a malformed response");
        return json;
    }

    private static int indexOf(byte[] a, byte[] pat) {
        outer:
        for (int i = 0; i + pat.length <= a.length; i++) {
            for (int j = 0; j < pat.length; j++) if (a[i + j] != pat[j]) continue outer;
            return i;
        }
        return -1;
    }
}
