package dev.lattice.wireguard.uapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Byte-for-byte comparison with the reference implementation: a real {@code wireguard-go} runs in a network
 * namespace created (and deleted) by this test, our server runs a {@link FakeUapiDevice}, and both receive the same
 * {@code wg} commands and raw UAPI transactions. Their errnos, {@code wg} exit codes and {@code get=1} replies must
 * be identical (peers compared as a set, since wireguard-go lists peers in Go map order).
 *
 * <p>Known, deliberate differences with the installed wireguard-go 0.0.20220316 (built with go1.19) are not
 * exercised here: it accepts {@code allowed_ip=10.0.0.0/08} and {@code /+8} (Go 1.22+ {@code netip}, which current
 * wireguard-go requires, rejects them, as we do), and it rejects {@code allowed_ip=-prefix} (removal, added in
 * wireguard-go 0.0.20250515, which we support). It accepts zoned endpoints such as {@code [fe80::1%lo]:80} but
 * prints them without the zone (current wireguard-go and we print {@code [fe80::1%lo]:80}). It also drops requests
 * pipelined behind a {@code set} in the same
 * write (its line scanner reads past the blank line); we answer them. Both keep the connection open after a failed
 * {@code set} and drop what the client had sent with it.
 */
@Tag("netns")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WireguardGoReferenceTest {
    static final NodePrivateKey DEVICE = NodePrivateKey.generate();
    static final NodePrivateKey P1_KEY = NodePrivateKey.generate();
    static final NodePublicKey P1 = P1_KEY.publicKey();
    static final NodePublicKey P2 = NodePrivateKey.generate().publicKey();
    static final NodePublicKey P3 = NodePrivateKey.generate().publicKey();
    static final NodePublicKey P4 = NodePrivateKey.generate().publicKey();
    static final NodePublicKey P5 = NodePrivateKey.generate().publicKey();
    static final NodePublicKey P6 = NodePrivateKey.generate().publicKey();

    @TempDir
    Path dir;
    String netns;
    String goIf;
    Process wireguardGo;
    Path goLog;
    String ourIf;
    FakeUapiDevice device;
    UapiServer server;

    @BeforeEach
    void start() throws Exception {
        Assumptions.assumeTrue(Proc.isRoot(), "needs root for a network namespace");
        for (String tool : List.of("wireguard-go", "wg", "ip")) {
            Assumptions.assumeTrue(Proc.which(tool) != null, tool + " is not on PATH");
        }
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/net/tun")), "no /dev/net/tun");
        String id = Integer.toHexString(ThreadLocalRandom.current().nextInt() | 0x10000000);
        netns = "ltuapi-" + id;
        goIf = "ltgo" + id;
        ourIf = "ltours" + id;
        Proc.run("ip", "netns", "add", netns).ok();
        goLog = dir.resolve("wireguard-go.log");
        wireguardGo = new ProcessBuilder("ip", "netns", "exec", netns, "wireguard-go", "-f", goIf)
                .redirectErrorStream(true).redirectOutput(goLog.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        Path goSock = UapiServer.socketPath(goIf);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(goSock)) {
            if (!wireguardGo.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("wireguard-go did not start:\n" + Files.readString(goLog));
            }
            Thread.sleep(20);
        }
        device = new FakeUapiDevice();
        server = UapiServer.start(ourIf, device);
    }

    @AfterEach
    void stop() throws Exception {
        try {
            if (server != null) server.close();
            if (wireguardGo != null) {
                wireguardGo.destroy();
                if (!wireguardGo.waitFor(5, TimeUnit.SECONDS)) wireguardGo.destroyForcibly().waitFor();
            }
        } finally {
            if (netns != null) Proc.run("ip", "netns", "del", netns);
            if (goIf != null) Files.deleteIfExists(UapiServer.socketPath(goIf));
            if (ourIf != null) Files.deleteIfExists(UapiServer.socketPath(ourIf));
        }
    }

    // ---------------------------------------------------------------- tests

    @Test
    void getReplyIsByteForByteWireguardGos() throws Exception {
        Path key = secret("device.key", DEVICE.toBase64());
        Path psk = secret("psk", Base64.getEncoder().encodeToString(P2.raw()));
        bothWg("set", "$IF", "private-key", key.toString(), "listen-port", "51820", "fwmark", "0x2a",
                "peer", P1.toBase64(), "allowed-ips", "10.0.0.0/24,fd00::/64,::ffff:10.9.8.7/112",
                "endpoint", "127.0.0.1:1234", "persistent-keepalive", "25");
        String go = get(goIf);
        String ours = get(ourIf);
        assertThat(ours).as("one peer: the whole reply, byte for byte").isEqualTo(go);
        assertThat(UapiCodec.formatGet(UapiCodec.parseGet(go)) + "errno=0\n\n")
                .as("formatGet of wireguard-go's own state").isEqualTo(go);

        bothWg("set", "$IF", "peer", P2.toBase64(), "preshared-key", psk.toString(), "endpoint", "[::1]:5555",
                "allowed-ips", "10.0.1.0/24");
        go = get(goIf);
        assertThat(peerBlocks(get(ourIf))).isEqualTo(peerBlocks(go));
        assertThat(UapiCodec.formatGet(UapiCodec.parseGet(go)) + "errno=0\n\n").isEqualTo(go);
    }

    @Test
    void theSocketFileLooksLikeWireguardGos() throws IOException {
        Path goSock = UapiServer.socketPath(goIf);
        Path ourSock = UapiServer.socketPath(ourIf);
        assertThat(mode(ourSock)).isEqualTo(mode(goSock)).isEqualTo(0140700);
        assertThat(Files.getOwner(ourSock, LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(Files.getOwner(goSock, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void stepByStepTheSameTransactionsLeaveTheSameState() throws Exception {
        Path key = secret("device.key", DEVICE.toBase64());
        Path psk = secret("psk", Base64.getEncoder().encodeToString(P3.raw()));
        Path setconf = secret("set.conf", """
                [Interface]
                PrivateKey = %s
                ListenPort = 51822

                [Peer]
                PublicKey = %s
                PresharedKey = %s
                AllowedIPs = 10.7.0.0/16
                Endpoint = 127.0.0.7:7

                [Peer]
                PublicKey = %s
                AllowedIPs = fd00:7::/48, 10.8.0.0/16
                PersistentKeepalive = 9
                """.formatted(DEVICE.toBase64(), P5.toBase64(), Base64.getEncoder().encodeToString(P4.raw()),
                P6.toBase64()));
        Path syncconf = secret("sync.conf", """
                [Interface]
                PrivateKey = %s
                ListenPort = 51822

                [Peer]
                PublicKey = %s
                AllowedIPs = 10.8.0.0/16, 10.9.0.0/16
                """.formatted(DEVICE.toBase64(), P6.toBase64()));

        bothWg("set", "$IF", "private-key", key.toString(), "listen-port", "51820", "fwmark", "0x2a",
                "peer", P1.toBase64(), "allowed-ips", "10.0.0.0/24,fd00::/64", "endpoint", "127.0.0.1:1234",
                "persistent-keepalive", "25",
                "peer", P2.toBase64(), "preshared-key", psk.toString(), "endpoint", "[::1]:5555",
                "allowed-ips", "10.0.1.0/24,::ffff:10.9.0.0/112");
        // update_only: an unknown peer is not created, a known one is updated
        bothSet(0, pk(P3), "update_only=true", "endpoint=127.0.0.3:3", pk(P1), "endpoint=127.0.0.2:2",
                "update_only=true");
        // adding a prefix another peer has moves it
        bothSet(0, pk(P2), "allowed_ip=10.0.0.0/24");
        // the device's own public key is ignored
        bothSet(0, pk(DEVICE.publicKey()), "allowed_ip=10.9.9.0/24", "endpoint=127.0.0.9:9");
        // replace, masking, re-adding moves a prefix to the end of the peer's list
        bothSet(0, pk(P1), "replace_allowed_ips=true", "allowed_ip=10.5.0.1/16", "allowed_ip=::ffff:1.2.3.4/120",
                "allowed_ip=10.6.0.0/16", "allowed_ip=10.5.0.0/16", "protocol_version=1");
        // a bad line: what came before it stays applied
        bothSet(-22, "listen_port=51821", pk(P4), "allowed_ip=10.4.0.0/16", "endpoint=not-an-endpoint",
                "persistent_keepalive_interval=5");
        // remove=true wins over the lines around it; a peer can be removed and re-added in one transaction
        bothSet(0, pk(P5), "endpoint=127.0.0.5:5", "remove=true", "allowed_ip=10.55.0.0/16", pk(P6), pk(P6),
                "remove=true", pk(P6), "persistent_keepalive_interval=7", "preshared_key=" + P6.toHex());
        bothSet(-22, pk(P6), "remove=true", "allowed_ip=nonsense");
        bothWg("set", "$IF", "peer", P2.toBase64(), "remove");
        // a new private key removes the peer that has its public key; later blocks for it are ignored
        bothSet(0, "private_key=" + P1_KEY.toHex(), pk(P1), "endpoint=127.0.0.10:10");
        bothWg("setconf", "$IF", setconf.toString());
        bothSet(0, pk(P5), "preshared_key=" + "0".repeat(64), "persistent_keepalive_interval=0");
        bothWg("syncconf", "$IF", syncconf.toString());
        bothSet(-71, "fwmark=0", "nokey");
        bothSet(-22, pk(P6), "listen_port=1");
        bothSet(0, "private_key=" + "0".repeat(64), "fwmark=0", "replace_peers=true", pk(P4));
    }

    @Test
    void errnosMatchForBadValues() throws Exception {
        String[][] cases = {
                {"listen_port=+1"}, {"listen_port=065535"}, {"listen_port=65536"}, {"listen_port="},
                {"fwmark=4294967295"}, {"fwmark=4294967296"}, {"fwmark=-1"}, {"protocol_version=1"},
                {"update_only=true"}, {"replace_peers=yes"}, {"Private_key=00"}, {"nokey"}, {"=x"},
                {"private_key=" + "F".repeat(64)}, {"private_key=" + "0".repeat(63)},
                {pk(P1), "endpoint=[127.0.0.1]:80"}, {pk(P1), "endpoint=::1:80"}, {pk(P1), "endpoint=127.0.0.1:080"},
                {pk(P1), "endpoint=127.0.0.1:65536"}, {pk(P1), "endpoint=[fe80::1%nosuchif0]:80"},
                {pk(P1), "endpoint=[fe80::1%]:80"},
                {pk(P1), "endpoint=01.2.3.4:80"}, {pk(P1), "endpoint=[::ffff:127.0.0.1]:80"},
                {pk(P1), "endpoint=localhost:80"}, {pk(P1), "allowed_ip=fe80::%1/64"},
                {pk(P1), "allowed_ip=10.0.0.0"}, {pk(P1), "allowed_ip=10.0.0.0/33"},
                {pk(P1), "allowed_ip=1.2.3/8"}, {pk(P1), "allowed_ip=::1.2.3.4/128"},
                {pk(P1), "persistent_keepalive_interval=65536"}, {pk(P1), "protocol_version=2"},
                {pk(P1), "remove=1"}, {pk(P1), "update_only=false"}, {pk(P1), "replace_allowed_ips=TRUE"},
                {pk(P1), "preshared_key=" + "0".repeat(65)}, {"public_key=" + "a".repeat(63)},
                {"public_key=" + "A".repeat(64)}, {"public_key=" + "0".repeat(64)},
        };
        bothSet(0, "listen_port=51820"); // wireguard-go starts up with a random port
        for (String[] lines : cases) {
            bothSet(null, lines);
        }
    }

    @Test
    void malformedRequestsAreHandledAlike() throws Exception {
        for (String request : List.of("get=1\nx\n", "set=1\r\n\n", "get=2\n\n", "hello\n", "\n")) {
            assertThat(exchange(ourIf, request)).as(request).isEqualTo(exchange(goIf, request));
        }
    }

    // ---------------------------------------------------------------- helpers

    static String pk(NodePublicKey k) {
        return "public_key=" + k.toHex();
    }

    static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    }

    Path secret(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(f, content + "\n");
        return f;
    }

    /** Runs {@code wg} against both; "$IF" stands for the interface name. Same exit code, same resulting state. */
    void bothWg(String... args) throws IOException {
        Proc.Result go = Proc.run(wgCommand(goIf, args));
        Proc.Result ours = Proc.run(wgCommand(ourIf, args));
        assertThat(ours.exit()).as("exit of wg %s\nwireguard-go: %s\nours: %s", List.of(args), go, ours)
                .isEqualTo(go.exit());
        assertSameState("after wg " + String.join(" ", args));
    }

    static String[] wgCommand(String ifname, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("wg");
        for (String a : args) cmd.add(a.equals("$IF") ? ifname : a);
        return cmd.toArray(String[]::new);
    }

    /** Sends one set transaction to both; same reply (and {@code expectedErrno} unless null), same state after. */
    void bothSet(Integer expectedErrno, String... lines) throws IOException {
        String request = "set=1\n" + String.join("\n", lines) + "\n\n";
        String go = exchange(goIf, request);
        String ours = exchange(ourIf, request);
        assertThat(ours).as("reply to %s", List.of(lines)).isEqualTo(go);
        if (expectedErrno != null) assertThat(go).isEqualTo("errno=" + expectedErrno + "\n\n<open>");
        assertSameState("after " + List.of(lines));
    }

    void assertSameState(String when) throws IOException {
        String go = get(goIf);
        String ours = get(ourIf);
        assertThat(peerBlocks(ours)).as("state %s\nwireguard-go:\n%s\nours:\n%s", when, go, ours)
                .isEqualTo(peerBlocks(go));
    }

    static String get(String ifname) throws IOException {
        String reply = UapiTestClient.get(UapiServer.socketPath(ifname));
        assertThat(reply).endsWith("errno=0\n\n");
        return reply;
    }

    /** Raw reply to one request on a fresh connection, and whether the server then closed the connection. */
    static String exchange(String ifname, String request) throws IOException {
        try (UapiTestClient c = new UapiTestClient(UapiServer.socketPath(ifname))) {
            c.send(request);
            String reply = c.readReplies(1);
            return reply + (c.closedByServer(Duration.ofMillis(150)) ? "<closed>" : "<open>");
        }
    }

    /**
     * A get reply as its device lines plus its peer blocks sorted by public key: everything is compared byte for
     * byte except the order of peers, which is Go map order in wireguard-go.
     */
    static List<String> peerBlocks(String reply) {
        List<String> blocks = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : reply.split("(?<=\n)")) {
            if (line.startsWith("public_key=") || line.startsWith("errno=")) {
                blocks.add(current.toString());
                current.setLength(0);
            }
            current.append(line);
        }
        blocks.add(current.toString());
        List<String> peers = new ArrayList<>(blocks.subList(1, blocks.size() - 1));
        peers.sort(null);
        List<String> out = new ArrayList<>();
        out.add(blocks.getFirst());
        out.addAll(peers);
        out.add(blocks.getLast());
        return out;
    }
}
