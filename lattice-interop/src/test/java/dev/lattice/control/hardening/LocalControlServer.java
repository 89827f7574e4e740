package dev.lattice.control.hardening;

import dev.lattice.testlab.ControlYaml;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/lattice-control serve} as a child process on loopback with a small heap, the way an attacker meets it
 * on a VPS: the packaged jar, the shipped logging config, its own file descriptors. Gives its RSS, the size of its
 * log, and quick probes of /key, /health and the admin socket.
 */
final class LocalControlServer implements AutoCloseable {
    final Path dir;
    final int port;
    final int metricsPort;
    final Path socket;
    final Path log;
    final Process process;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    private LocalControlServer(Path dir, int port, int metricsPort, Path socket, Path log, Process process) {
        this.dir = dir;
        this.port = port;
        this.metricsPort = metricsPort;
        this.socket = socket;
        this.log = log;
        this.process = process;
    }

    static Path launcher() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("bin/lattice-control"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("bin/lattice-control not found above " + Path.of("").toAbsolutePath());
        return p.resolve("bin/lattice-control");
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts the server with {@code heap} (e.g. "256m") and {@code extraYaml}, and waits until /health answers. */
    static LocalControlServer start(Path dir, String heap, String extraYaml) throws Exception {
        int port = freePort();
        int metrics = freePort();
        Path socket = dir.resolve("run/control.sock");
        Path cfg = dir.resolve("config.yaml");
        Files.writeString(cfg, ControlYaml.on(dir, port).metrics("127.0.0.1:" + metrics)
                .embeddedDerp(freePort()).unixSocket(socket).nameservers(List.of()).build() + extraYaml);
        Path log = dir.resolve("server.log");
        ProcessBuilder pb = new ProcessBuilder(launcher().toString(), "serve", "-c", cfg.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("LATTICE_JAVA_OPTS", "-Xmx" + heap);
        Process p = pb.start();
        LocalControlServer s = new LocalControlServer(dir, port, metrics, socket, log, p);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            if (!p.isAlive()) throw new AssertionError("lattice-control exited:\n" + s.logTail(40));
            if (s.health() && Files.exists(socket)) return s;
            Thread.sleep(200);
        }
        s.close();
        throw new AssertionError("lattice-control not healthy after 60 s:\n" + s.logTail(40));
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + port);
    }

    InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", port);
    }

    /** Resident set size in MiB, from /proc (the launcher execs java, so the pid is the JVM's). */
    long rssMiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
        }
        throw new IOException("no VmRSS for " + process.pid());
    }

    /** Open file descriptors of the server. */
    long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/" + process.pid() + "/fd"))) {
            return s.count();
        }
    }

    long logBytes() throws IOException {
        return Files.size(log);
    }

    String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** The log written after {@code offset}. */
    String logSince(long offset) throws IOException {
        byte[] all = Files.readAllBytes(log);
        return new String(all, (int) Math.min(offset, all.length), (int) Math.max(0, all.length - offset), StandardCharsets.UTF_8);
    }

    boolean health() {
        return get("/health", port) == 200;
    }

    boolean key() {
        return get("/key?v=130", port) == 200;
    }

    boolean metrics() {
        return get("/metrics", metricsPort) == 200;
    }

    private int get(String path, int p) {
        try {
            HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p + path))
                    .timeout(Duration.ofSeconds(3)).GET().build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** GET /api/v1/user over the admin socket, with a 3 s budget; true when it answers 200. */
    boolean adminSocket() {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            ch.write(ByteBuffer.wrap("GET /api/v1/user HTTP/1.1\r\nHost: lattice\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII)));
            ch.configureBlocking(false);
            ByteBuffer buf = ByteBuffer.allocate(256);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            while (System.nanoTime() < end) {
                int n = ch.read(buf);
                if (n < 0 || buf.position() >= 12) break;
                Thread.sleep(10);
            }
            return new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * POSTs {@code json} to the admin API over the unix socket (as the CLI does, without a JVM start per call) and
     * returns the response body; fails unless it answers 200.
     */
    String adminPost(String path, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            ch.write(ByteBuffer.wrap(("POST " + path + " HTTP/1.1\r\nHost: lattice\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII)));
            ch.write(ByteBuffer.wrap(body));
            String response = new String(java.nio.channels.Channels.newInputStream(ch).readAllBytes(), StandardCharsets.UTF_8);
            if (!response.startsWith("HTTP/1.1 200")) throw new IOException("admin " + path + ": " + response);
            return response.substring(response.indexOf("\r\n\r\n") + 4);
        }
    }

    /** Creates a user and a reusable pre-auth key for it, through the admin socket; returns the key. */
    String userWithReusableKey(String user) throws IOException {
        adminPost("/api/v1/user", "{\"name\":\"" + user + "\"}");
        String r = adminPost("/api/v1/preauthkey", "{\"user\":\"" + user + "\",\"reusable\":true,\"expiration\":\""
                + java.time.Instant.now().plusSeconds(3600) + "\"}");
        var m = java.util.regex.Pattern.compile("\"key\"\\s*:\\s*\"([^\"]+)\"").matcher(r);
        if (!m.find()) throw new IOException("no key in " + r);
        return m.group(1);
    }

    /** Runs an admin CLI command and returns its stdout. */
    String admin(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(launcher().toString(), "-c", dir.resolve("config.yaml").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) throw new AssertionError("admin " + cmd + " failed: " + out);
        return out;
    }

    Map<String, Boolean> probes() {
        return Map.of("/key", key(), "/health", health(), "admin socket", adminSocket());
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
