package dev.lattice.derp;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * Tailscale's own {@code derper} (path in LATTICE_DERPER), run on 127.0.0.1 with plain HTTP (a port other than 443
 * and no --certmode manual) and its STUN server on another loopback port. Skips the calling test when unset.
 */
public final class OfficialDerper implements AutoCloseable {
    private final Process process;
    public final int port;
    public final int stunPort;
    private final Path dir;

    private OfficialDerper(Process process, int port, int stunPort, Path dir) {
        this.process = process;
        this.port = port;
        this.stunPort = stunPort;
        this.dir = dir;
    }

    public static Path binaryOrSkip() {
        Optional<Path> p = Optional.ofNullable(System.getenv("LATTICE_DERPER")).filter(s -> !s.isBlank()).map(Path::of);
        Assumptions.assumeTrue(p.isPresent() && Files.isExecutable(p.get()),
                "LATTICE_DERPER (path to tailscale's derper) not set or not executable; skipping interop with the official DERP server");
        return p.get();
    }

    /** Starts derper; {@code meshKeyHex} non-null gives it a mesh key (through --mesh-psk-file). */
    public static OfficialDerper start(String meshKeyHex) throws IOException, InterruptedException {
        Path bin = binaryOrSkip();
        Path dir = Files.createTempDirectory("lt-derper");
        int port = freePort();
        int stun = freePort();
        List<String> cmd = new ArrayList<>(List.of(bin.toString(), "-a", "127.0.0.1:" + port, "-c", dir.resolve("derper.key").toString(),
                "-stun-port", Integer.toString(stun), "-http-port", "-1", "-home", "blank"));
        if (meshKeyHex != null) {
            Path psk = dir.resolve("mesh.key");
            Files.writeString(psk, meshKeyHex + "\n");
            cmd.addAll(List.of("-mesh-psk-file", psk.toString()));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("derper.log").toFile());
        pb.environment().putAll(Map.of("HOME", dir.toString()));
        Process p = pb.start();
        OfficialDerper d = new OfficialDerper(p, port, stun, dir);
        long end = System.nanoTime() + 15_000_000_000L;
        while (System.nanoTime() < end) {
            if (!p.isAlive()) throw new IOException("derper exited: " + d.log());
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return d;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        d.close();
        throw new IOException("derper did not listen in 15 s: " + d.log());
    }

    public URI url() {
        return URI.create("http://127.0.0.1:" + port + "/derp");
    }

    public String log() {
        try {
            return Files.readString(dir.resolve("derper.log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    public long pid() {
        return process.pid();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try (var w = Files.walk(dir)) {
            w.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // temp dir
        }
    }
}
