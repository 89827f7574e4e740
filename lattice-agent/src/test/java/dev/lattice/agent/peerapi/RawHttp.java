package dev.lattice.agent.peerapi;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a socket bound to a chosen loopback source address, so tests can play several tailnet peers
 * (127.0.0.2, 127.0.0.3, ...) against one server.
 */
final class RawHttp implements AutoCloseable {
    record Response(int status, Map<String, String> headers, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    RawHttp(String from, InetSocketAddress to) throws IOException {
        socket = new Socket();
        socket.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        socket.connect(to, 2000);
        socket.setSoTimeout(5000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    /** One request: {@code head} is the request line and headers without the final blank line. */
    Response send(String head, byte[] body) throws IOException {
        write(head, body);
        return read();
    }

    void write(String head, byte[] body) throws IOException {
        byte[] b = body == null ? new byte[0] : body;
        String h = head + (body == null ? "" : "\r\nContent-Length: " + b.length) + "\r\n\r\n";
        out.write(h.getBytes(StandardCharsets.ISO_8859_1));
        out.write(b);
        out.flush();
    }

    /** The next response, or null when the server closed the connection first. */
    Response read() throws IOException {
        String status = line();
        if (status == null) return null;
        int code = Integer.parseInt(status.split(" ")[1]);
        Map<String, String> headers = new HashMap<>();
        for (String l; (l = line()) != null && !l.isEmpty(); ) {
            int c = l.indexOf(':');
            headers.put(l.substring(0, c).trim().toLowerCase(Locale.ROOT), l.substring(c + 1).trim());
        }
        int len = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        return new Response(code, headers, in.readNBytes(len));
    }

    /** True when the server closed the connection (EOF or reset) without answering. */
    boolean closedByServer() {
        try {
            return in.read() < 0;
        } catch (IOException e) {
            return !(e instanceof java.net.SocketTimeoutException);
        }
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') break;
            if (c != '\r') b.write(c);
        }
        if (c < 0 && b.size() == 0) return null;
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
