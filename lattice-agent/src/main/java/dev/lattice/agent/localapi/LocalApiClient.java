package dev.lattice.agent.localapi;

import dev.lattice.agent.ipn.MaskedPrefs;
import dev.lattice.agent.ipn.NetcheckReport;
import dev.lattice.agent.ipn.PingResult;
import dev.lattice.agent.ipn.Status;
import dev.lattice.agent.ipn.UpRequest;
import dev.lattice.agent.ipn.UpResult;
import dev.lattice.agent.ipn.WhoIsResponse;
import dev.lattice.agent.state.Prefs;
import dev.lattice.wire.tailcfg.DERPMap;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketException;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * The CLI's client of {@link LocalApiServer}: one HTTP/1.1 request per connection ({@code Connection: close}) over
 * the unix socket, typed by the {@code ipn} records. Every failure is a {@link LocalApiException}; a missing socket
 * or refused connection is {@link LocalApiException.NotRunning} with tailscale's wording.
 */
public final class LocalApiClient {
    /** A status of a large tailnet is a few MiB; anything far beyond is not our daemon. */
    static final int MAX_RESPONSE = 64 << 20;
    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private final Path socket;
    /** Null: over the socket. Else the daemon's own routes, in process (its quick CLI commands, see {@link CliRoute}). */
    private final LocalApiRoutes inProcess;
    /** In process: whether the caller may change state (up), as its peer credentials decided. */
    private final boolean mayWrite;

    public LocalApiClient(Path socket) {
        this.socket = socket;
        this.inProcess = null;
        this.mayWrite = false;
    }

    /** A client of {@code routes} without a socket, with the access of the caller it acts for. */
    LocalApiClient(Path socket, LocalApiRoutes inProcess, boolean mayWrite) {
        this.socket = socket;
        this.inProcess = inProcess;
        this.mayWrite = mayWrite;
    }

    public Path socket() {
        return socket;
    }

    public Status status() throws LocalApiException {
        return call("GET", "status", null, Status.class, DEFAULT_TIMEOUT);
    }

    public UpResult up(UpRequest request) throws LocalApiException {
        return call("POST", "up", request, UpResult.class, DEFAULT_TIMEOUT);
    }

    /** As {@link #up(UpRequest)}, latticed answering within {@code wait} (at most its own 10 s) with the state it has. */
    public UpResult up(UpRequest request, Duration wait) throws LocalApiException {
        return call("POST", "up?wait=" + wait.toMillis(), request, UpResult.class, DEFAULT_TIMEOUT);
    }

    public void down() throws LocalApiException {
        call("POST", "down", null, JsonNode.class, DEFAULT_TIMEOUT);
    }

    public void logout() throws LocalApiException {
        call("POST", "logout", null, JsonNode.class, DEFAULT_TIMEOUT);
    }

    public Prefs prefs() throws LocalApiException {
        return call("GET", "prefs", null, Prefs.class, DEFAULT_TIMEOUT);
    }

    /** Applies {@code change} (tailscale's PATCH of masked prefs); the daemon's refusal is a LocalApiException with its reason. */
    public Prefs editPrefs(MaskedPrefs change) throws LocalApiException {
        return call("PATCH", "prefs", change.toJson(), Prefs.class, DEFAULT_TIMEOUT);
    }

    /** The daemon's warning about IP forwarding for {@code routes} (tailscale's CheckIPForwarding), or null. */
    public String checkIpForwarding(List<String> routes) throws LocalApiException {
        JsonNode n = call("GET", "check-ip-forwarding?routes=" + enc(String.join(",", routes)), null, JsonNode.class, DEFAULT_TIMEOUT);
        JsonNode w = n == null ? null : n.get("Warning");
        return w == null || w.asString().isEmpty() ? null : w.asString();
    }

    /** One ping; a peer that does not answer within {@code timeout} is a {@link LocalApiException} with status 504. */
    public PingResult ping(String ip, Duration timeout) throws LocalApiException {
        return call("POST", "ping?ip=" + enc(ip) + "&timeout=" + Math.max(1, timeout.toMillis()), null, PingResult.class,
                timeout.plusSeconds(10));
    }

    public NetcheckReport netcheck() throws LocalApiException {
        return call("GET", "netcheck", null, NetcheckReport.class, DEFAULT_TIMEOUT);
    }

    public WhoIsResponse whois(String addr) throws LocalApiException {
        return call("GET", "whois?addr=" + enc(addr), null, WhoIsResponse.class, DEFAULT_TIMEOUT);
    }

    /** The daemon's version. */
    public String version() throws LocalApiException {
        JsonNode n = call("GET", "version", null, JsonNode.class, DEFAULT_TIMEOUT);
        JsonNode v = n == null ? null : n.get("Version");
        return v == null ? "" : v.asString();
    }

    /** The daemon's DERP map, or null when it has none. */
    public DERPMap derpMap() throws LocalApiException {
        try {
            return call("GET", "derpmap", null, DERPMap.class, DEFAULT_TIMEOUT);
        } catch (LocalApiException e) {
            if (e.status() == 404) return null;
            throw e;
        }
    }

    /** {@code GET cert/DOMAIN?type=pair}: the key PEM followed by the certificate chain PEM. */
    public String certPair(String domain) throws LocalApiException {
        Raw r = exchange("GET", LocalApiRoutes.PREFIX + "cert/" + enc(domain) + "?type=pair", new byte[0], Duration.ofMinutes(5));
        if (r.status() != 200) throw new LocalApiException(r.status(), errorText(r));
        return new String(r.body(), StandardCharsets.US_ASCII);
    }

    public void setDns(String name, String value) throws LocalApiException {
        call("POST", "set-dns?name=" + enc(name) + "&value=" + enc(value), null, JsonNode.class, DEFAULT_TIMEOUT);
    }

    /** The serve config and its ETag (tailscale's {@code GetServeConfig}). */
    public record ServeConfigAndEtag(dev.lattice.agent.serve.ServeConfig config, String etag) {}

    public ServeConfigAndEtag serveConfig() throws LocalApiException {
        Raw r = exchange("GET", LocalApiRoutes.PREFIX + "serve-config", new byte[0], DEFAULT_TIMEOUT, null);
        if (r.status() != 200) throw new LocalApiException(r.status(), errorText(r));
        try {
            return new ServeConfigAndEtag(dev.lattice.agent.serve.ServeConfig.parse(r.body()), r.etag());
        } catch (IllegalArgumentException e) {
            throw new LocalApiException(r.status(), "malformed answer from latticed to GET serve-config: " + e.getMessage());
        }
    }

    /** Replaces the serve config if it is still the one {@code etag} names ("" or null: whatever it is). */
    public void setServeConfig(dev.lattice.agent.serve.ServeConfig c, String etag) throws LocalApiException {
        byte[] body = c.isEmpty() ? "null".getBytes(StandardCharsets.US_ASCII) : c.toJson();
        Raw r = exchange("POST", LocalApiRoutes.PREFIX + "serve-config", body, DEFAULT_TIMEOUT, etag);
        if (r.status() != 200) throw new LocalApiException(r.status(), errorText(r));
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private <T> T call(String method, String pathAndQuery, Object body, Class<T> type, Duration timeout)
            throws LocalApiException {
        byte[] json = body == null ? new byte[0] : LocalApiJson.mapper().writeValueAsBytes(body);
        Raw r = exchange(method, LocalApiRoutes.PREFIX + pathAndQuery, json, timeout);
        if (r.status() != 200) throw new LocalApiException(r.status(), errorText(r));
        try {
            return LocalApiJson.mapper().readValue(r.body(), type);
        } catch (JacksonException e) {
            throw new LocalApiException(r.status(), "malformed answer from latticed to " + method + " "
                    + pathAndQuery.split("\\?", 2)[0] + ": " + e.getOriginalMessage());
        }
    }

    private static String errorText(Raw r) {
        try {
            JsonNode n = LocalApiJson.mapper().readTree(r.body());
            JsonNode e = n == null ? null : n.get("error");
            if (e != null && e.isString()) return e.asString();
        } catch (JacksonException ignored) {
            // not JSON: show the text
        }
        String text = new String(r.body(), StandardCharsets.UTF_8).strip();
        if (text.length() > 200) text = text.substring(0, 200) + "...";
        return text.isEmpty() ? "HTTP " + r.status() : text;
    }

    record Raw(int status, byte[] body, String etag) {
        Raw(int status, byte[] body) {
            this(status, body, null);
        }
    }

    Raw exchange(String method, String target, byte[] body, Duration timeout) throws LocalApiException {
        return exchange(method, target, body, timeout, null);
    }

    Raw exchange(String method, String target, byte[] body, Duration timeout, String ifMatch) throws LocalApiException {
        if (inProcess != null) {
            LocalApiRoutes.Response r = inProcess.handle(method, target, body, mayWrite, ifMatch);
            return new Raw(r.status(), r.body(), r.etag());
        }
        SocketChannel ch;
        try {
            ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (SocketException | java.nio.file.NoSuchFileException e) {
            throw new LocalApiException.NotRunning(socket, e);
        } catch (IOException e) {
            if (isNotRunning(e)) throw new LocalApiException.NotRunning(socket, e);
            throw new LocalApiException("failed to connect to local latticed (socket " + socket + "): " + e.getMessage(), e);
        }
        // Blocking unix channels have no read timeout: a watchdog closes the channel at the deadline.
        Thread watchdog = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(timeout);
                ch.close();
            } catch (InterruptedException | IOException ignored) {
                // finished in time, or already closed
            }
        });
        try (ch) {
            String head = method + " " + target + " HTTP/1.1\r\nHost: local-latticed.sock\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n"
                    + (ifMatch == null || ifMatch.isEmpty() ? "" : "If-Match: " + ifMatch.replaceAll("[\\r\\n]", "") + "\r\n") + "\r\n";
            write(ch, head.getBytes(StandardCharsets.ISO_8859_1));
            write(ch, body);
            return parse(readAll(ch));
        } catch (AsynchronousCloseException e) {
            throw new LocalApiException("timed out waiting for latticed (" + method + " " + target + ")", e);
        } catch (IOException e) {
            throw new LocalApiException("local API " + method + " " + target + " failed: " + e.getMessage(), e);
        } finally {
            watchdog.interrupt();
        }
    }

    private static boolean isNotRunning(IOException e) {
        String m = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
        return m.contains("no such file") || m.contains("connection refused");
    }

    private static void write(SocketChannel ch, byte[] b) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(b);
        while (buf.hasRemaining()) ch.write(buf);
    }

    private static byte[] readAll(SocketChannel ch) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        while (ch.read(buf) >= 0) {
            out.write(buf.array(), 0, buf.position());
            buf.clear();
            if (out.size() > MAX_RESPONSE) throw new IOException("answer larger than " + MAX_RESPONSE + " bytes");
        }
        out.write(buf.array(), 0, buf.position());
        return out.toByteArray();
    }

    /** Status line, headers, then the body (Content-Length bytes, or the rest when absent). */
    static Raw parse(byte[] raw) throws IOException {
        int end = indexOf(raw, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        if (end < 0) throw new IOException("truncated HTTP answer");
        String[] lines = new String(raw, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/1.")) throw new IOException("not an HTTP answer");
        int status;
        try {
            status = Integer.parseInt(statusLine[1]);
        } catch (NumberFormatException e) {
            throw new IOException("bad HTTP status line");
        }
        int bodyStart = end + 4;
        int len = raw.length - bodyStart;
        String etag = null;
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c > 0 && lines[i].substring(0, c).trim().equalsIgnoreCase("etag")) etag = lines[i].substring(c + 1).trim();
            if (c > 0 && lines[i].substring(0, c).trim().equalsIgnoreCase("content-length")) {
                try {
                    int cl = Integer.parseInt(lines[i].substring(c + 1).trim());
                    if (cl < 0 || cl > len) throw new IOException("truncated HTTP answer");
                    len = cl;
                } catch (NumberFormatException e) {
                    throw new IOException("bad Content-Length");
                }
            }
        }
        byte[] body = new byte[len];
        System.arraycopy(raw, bodyStart, body, 0, len);
        return new Raw(status, body, etag);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) continue outer;
            }
            return i;
        }
        return -1;
    }
}
