package dev.lattice.wireguard.interop;

import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.Exec;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.LabException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One WireGuard daemon ({@code BINARY -f DEV}) running in a lab host, configured only through the {@code wg}
 * tool, which talks to it over /var/run/wireguard/DEV.sock.
 */
final class WgNode {
    static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    static final Path SOCKET_DIR = Path.of("/var/run/wireguard");

    final WgImpl impl;
    final Host host;
    final String dev;
    final Path binary;
    final BackgroundProcess daemon;
    final Path privateKeyFile;
    final String publicKey;

    private WgNode(WgImpl impl, Host host, String dev, Path binary, BackgroundProcess daemon, Path privateKeyFile,
                   String publicKey) {
        this.impl = impl;
        this.host = host;
        this.dev = dev;
        this.binary = binary;
        this.daemon = daemon;
        this.privateKeyFile = privateKeyFile;
        this.publicKey = publicKey;
    }

    /**
     * Generates a key pair ({@code wg genkey}, private key in a 0600 file), starts the daemon in {@code host} and
     * waits until it has created the TUN device {@code dev} and its UAPI socket.
     *
     * @throws LabException if the daemon exits or does not come up within {@link #START_TIMEOUT}
     */
    static WgNode start(Lab lab, Host host, WgImpl impl, String dev) {
        Path binary = impl.binary().orElseThrow(() -> new IllegalStateException(impl + " unavailable"));
        Path keyFile = lab.workDir().resolve(dev + ".key");
        String priv = genKey();
        writePrivate(keyFile, priv + "\n");
        String pub = publicKey(priv);

        Path socket = SOCKET_DIR.resolve(dev + ".sock");
        lab.deleteOnClose(socket);
        BackgroundProcess daemon = host.spawn(impl.displayName() + "-" + dev,
                Map.of("WG_PROCESS_FOREGROUND", "1", "LOG_LEVEL", "verbose"),
                List.of(binary.toString(), "-f", dev));
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!(host.hasLink(dev) && Files.exists(socket))) {
            if (!daemon.isAlive()) {
                throw new LabException(impl + " (" + binary + " -f " + dev + ") exited with status "
                        + daemon.exitCode().orElse(-1) + " before creating " + dev + " and " + socket
                        + "; its output:\n" + daemon.tail(40));
            }
            if (System.nanoTime() > deadline) {
                throw new LabException(impl + " did not create " + dev + " and " + socket + " within "
                        + START_TIMEOUT.toSeconds() + " s (device present: " + host.hasLink(dev)
                        + "); its output:\n" + daemon.tail(40));
            }
            Lab.sleep(Duration.ofMillis(50));
        }
        return new WgNode(impl, host, dev, binary, daemon, keyFile, pub);
    }

    static String genKey() {
        return Exec.runChecked("wg", "genkey").stdout().strip();
    }

    static String publicKey(String privateKey) {
        return Exec.run(Duration.ofSeconds(10), privateKey + "\n", Map.of(), List.of("wg", "pubkey")).orThrow()
                .stdout().strip();
    }

    /** The key in a key file written by {@link #start}. */
    static String readKey(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes a file readable only by its owner (created 0600 before anything is written to it). */
    static void writePrivate(Path file, String content) {
        try {
            Files.deleteIfExists(file);
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, content, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code wg ARGS...} in this node's namespace; throws unless it exits 0. */
    ExecResult wg(String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "wg";
        System.arraycopy(args, 0, argv, 1, args.length);
        return host.execChecked(Duration.ofSeconds(15), argv);
    }

    /** {@code wg show DEV latest-handshakes}: peer public key to epoch seconds (0 = never). */
    Map<String, Long> latestHandshakes() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String[] f : showColumns("latest-handshakes")) {
            m.put(f[0], Long.parseLong(f[1]));
        }
        return m;
    }

    /** Latest handshake with {@code peer} in epoch seconds, 0 if none. */
    long latestHandshake(String peer) {
        return latestHandshakes().getOrDefault(peer, 0L);
    }

    /** {@code wg show DEV endpoints}: peer public key to "ip:port" (or "(none)"). */
    Map<String, String> endpoints() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String[] f : showColumns("endpoints")) {
            m.put(f[0], f[1]);
        }
        return m;
    }

    /** {@code wg show DEV transfer}: peer public key to {rx bytes, tx bytes}. */
    Map<String, long[]> transfer() {
        Map<String, long[]> m = new LinkedHashMap<>();
        for (String[] f : showColumns("transfer")) {
            m.put(f[0], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
        }
        return m;
    }

    private List<String[]> showColumns(String what) {
        return wg("show", dev, what).stdout().lines().filter(l -> !l.isBlank()).map(l -> l.split("\t")).toList();
    }

    /** The daemon process is running and answers {@code wg show} on its UAPI socket. */
    boolean responsive() {
        return daemon.isAlive() && host.exec(Duration.ofSeconds(10), "wg", "show", dev).ok();
    }

    /** State for failure messages: process, {@code wg show}, addresses and the end of the daemon's log. */
    String diagnostics() {
        StringBuilder sb = new StringBuilder();
        sb.append("== ").append(impl).append(" on ").append(host).append(" dev ").append(dev).append(" (")
                .append(binary).append(") ").append(daemon.isAlive() ? "running" : "EXITED " + daemon.exitCode())
                .append('\n');
        ExecResult show = host.exec(Duration.ofSeconds(10), "wg", "show", dev);
        sb.append("-- wg show: ").append(show.ok() ? show.stdout().strip() : show.output().strip()).append('\n');
        sb.append("-- ip addr:\n").append(host.exec("ip", "-br", "addr").stdout().strip()).append('\n');
        sb.append("-- log (").append(daemon.logFile()).append("):\n").append(daemon.tail(30)).append('\n');
        return sb.toString();
    }

    @Override
    public String toString() {
        return impl + "@" + host.name();
    }
}
