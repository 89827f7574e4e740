package dev.lattice.wireguard.uapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The UAPI socket server, spoken to over a raw unix socket, against a {@link FakeUapiDevice}. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UapiServerTest {
    static final NodePublicKey PEER = NodePrivateKey.generate().publicKey();
    static final Duration SHORT = Duration.ofSeconds(5);

    @TempDir
    Path dir;
    Path socket;
    FakeUapiDevice device;
    UapiServer server;

    @BeforeEach
    void start() throws IOException {
        socket = dir.resolve("wg0.sock");
        device = new FakeUapiDevice();
        server = UapiServer.start(socket, device);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Nested
    class Protocol {

        @Test
        void getOnAnEmptyDeviceIsJustErrnoZero() throws IOException {
            assertThat(UapiTestClient.get(socket)).isEqualTo("errno=0\n\n");
        }

        @Test
        void setIsParsedAppliedAndAnsweredWithErrnoZero() throws IOException {
            String reply = UapiTestClient.set(socket, "listen_port=51820", "public_key=" + PEER.toHex(),
                    "endpoint=127.0.0.1:1234", "allowed_ip=10.0.0.0/24");
            assertThat(reply).isEqualTo("errno=0\n\n");
            assertThat(device.applied).singleElement().satisfies(set -> {
                assertThat(set.listenPort()).isEqualTo(51820);
                assertThat(set.peers()).singleElement().satisfies(p -> {
                    assertThat(p.publicKey()).isEqualTo(PEER);
                    assertThat(Netip.formatEndpoint(p.endpoint())).isEqualTo("127.0.0.1:1234");
                });
            });
            assertThat(UapiTestClient.get(socket)).isEqualTo(UapiCodec.formatGet(device.state()) + "errno=0\n\n")
                    .startsWith("listen_port=51820\npublic_key=" + PEER.toHex() + "\n");
        }

        @Test
        void severalRequestsOnOneConnectionEvenWhenSentAtOnce() throws IOException {
            try (UapiTestClient c = new UapiTestClient(socket)) {
                c.send("set=1\nlisten_port=1\n\nget=1\n\nset=1\nfwmark=7\n\nget=1\n\n");
                assertThat(c.readReplies(4)).isEqualTo(
                        "errno=0\n\nlisten_port=1\nerrno=0\n\nerrno=0\n\nlisten_port=1\nfwmark=7\nerrno=0\n\n");
                c.send("get=1\n\n");
                assertThat(c.readReplies(5)).endsWith("errno=0\n\nlisten_port=1\nfwmark=7\nerrno=0\n\n");
            }
        }

        @Test
        void aSetEndedByEndOfStreamIsStillApplied() throws IOException {
            try (UapiTestClient c = new UapiTestClient(socket)) {
                c.send("set=1\nlisten_port=4244");
                c.shutdownOutput();
                assertThat(c.readReplies(1)).isEqualTo("errno=0\n\n");
            }
            assertThat(device.state().listenPort()).isEqualTo(4244);
        }

        @Test
        void aBadSetIsAnsweredWithItsErrnoAndWhatCameWithItIsDroppedAsInWireguardGo() throws IOException {
            try (UapiTestClient c = new UapiTestClient(socket)) {
                c.send("set=1\nlisten_port=x\nlisten_port=2\n\nget=1\n\n");
                assertThat(c.readReplies(1)).isEqualTo("errno=-22\n\n");
                assertThat(c.closedByServer(Duration.ofMillis(300))).as("connection stays open").isFalse();
            }
            try (UapiTestClient c = new UapiTestClient(socket)) {
                c.send("set=1\nlisten_port=x\n\n");
                assertThat(c.readReplies(1)).isEqualTo("errno=-22\n\n");
                c.send("get=1\n\n");
                assertThat(c.readReplies(2)).isEqualTo("errno=-22\n\nerrno=0\n\n");
            }
            assertThat(UapiTestClient.set(socket, "nokey")).isEqualTo("errno=-71\n\n");
            assertThat(device.applied).isEmpty();
        }

        @Test
        void theRestOfALongBadSetArrivingLaterIsAnInvalidRequestAndClosesTheConnection() throws Exception {
            try (UapiTestClient c = new UapiTestClient(socket)) {
                c.send("set=1\nlisten_port=x\n");
                assertThat(c.readReplies(1)).isEqualTo("errno=-22\n\n");
                c.send("listen_port=2\n\n");
                assertThat(c.closedByServer(SHORT)).isTrue();
            }
        }

        @Test
        void theLinesBeforeABadLineAreAppliedAsWireguardGoDoes() throws IOException {
            assertThat(UapiTestClient.set(socket, "listen_port=1234", "public_key=" + PEER.toHex(),
                    "endpoint=not-an-endpoint", "persistent_keepalive_interval=5")).isEqualTo("errno=-22\n\n");
            assertThat(device.applied).singleElement()
                    .isEqualTo(new UapiSet(null, 1234, null, false, List.of(PeerChange.of(PEER))));
        }

        @Test
        void aBadFirstLineDoesNotCallTheDeviceAtAll() throws IOException {
            assertThat(UapiTestClient.set(socket, "bogus=1")).isEqualTo("errno=-22\n\n");
            assertThat(device.applied).isEmpty();
        }

        @Test
        void theDevicesErrorIsReported() throws IOException {
            device.failWith(new UapiException(UapiError.PORT_IN_USE, "port taken"));
            assertThat(UapiTestClient.set(socket, "listen_port=1")).isEqualTo("errno=-98\n\n");
        }

        @Test
        void aCrashingDeviceIsUnknownErrorAndTheServerCarriesOn() throws IOException {
            device.crashWith(new IllegalStateException("boom"));
            assertThat(UapiTestClient.set(socket, "listen_port=1")).isEqualTo("errno=-55\n\n");
            assertThat(UapiTestClient.get(socket)).isEqualTo("errno=-55\n\n");
            device.crashWith(null);
            assertThat(UapiTestClient.get(socket)).isEqualTo("errno=0\n\n");
        }

        @Test
        void getMustBeFollowedByABlankLine() throws IOException {
            try (UapiTestClient c = new UapiTestClient(socket)) {
                c.send("get=1\nx\n");
                assertThat(c.readReplies(1)).isEqualTo("errno=-22\n\n");
                assertThat(c.closedByServer(SHORT)).as("the rest of the line is an invalid request").isTrue();
            }
        }

        @Test
        void anUnknownRequestClosesTheConnectionWithoutReply() throws IOException {
            for (String request : List.of("get=2\n\n", "set=1\r\n\n", "GET=1\n\n", "\n", "hello\n")) {
                try (UapiTestClient c = new UapiTestClient(socket)) {
                    c.send(request);
                    assertThat(c.closedByServer(SHORT)).as(request).isTrue();
                    assertThat(c.readReplies(1)).as(request).isEmpty();
                }
            }
            assertThat(device.applied).isEmpty();
        }

        @Test
        void aConnectionThatSendsNothingIsHarmless() throws IOException {
            for (int i = 0; i < 20; i++) new UapiTestClient(socket).close(); // what `wg show all` does per socket
            assertThat(UapiTestClient.get(socket)).isEqualTo("errno=0\n\n");
        }

        @Test
        void concurrentClientsEachGetTheirAnswers() throws Exception {
            List<NodePublicKey> keys = new ArrayList<>();
            for (int i = 0; i < 40; i++) keys.add(NodePrivateKey.generate().publicKey());
            try (var exec = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<String>> replies = new ArrayList<>();
                for (NodePublicKey k : keys) {
                    replies.add(exec.submit(() -> UapiTestClient.set(socket, "public_key=" + k.toHex(),
                            "allowed_ip=10.0.0.0/8")));
                    replies.add(exec.submit(() -> UapiTestClient.get(socket)));
                }
                for (Future<String> f : replies) assertThat(f.get()).endsWith("errno=0\n\n");
            }
            DeviceState s = device.state();
            assertThat(s.peers()).extracting(PeerState::publicKey).containsExactlyInAnyOrderElementsOf(keys);
            assertThat(s.peers().stream().filter(p -> !p.allowedIps().isEmpty())).as("one owner per prefix")
                    .hasSize(1);
        }
    }

    @Nested
    class Limits {

        @Test
        void aHugeRequestLineIsCutOffAndTheConnectionClosed() throws Exception {
            AtomicLong written = new AtomicLong();
            try (UapiTestClient c = new UapiTestClient(socket);
                 var exec = Executors.newVirtualThreadPerTaskExecutor()) {
                Future<?> writer = exec.submit(() -> writeGarbage(c, written, 100 << 20, (byte) 'a'));
                assertThat(c.closedByServer(Duration.ofSeconds(20))).isTrue();
                assertThatThrownBy(writer::get).hasRootCauseInstanceOf(IOException.class);
            }
            assertThat(written.get()).as("server stopped reading early").isLessThan(16 << 20);
            assertThat(UapiTestClient.get(socket)).isEqualTo("errno=0\n\n");
        }

        @Test
        void aHugeLineInsideASetIsAnIoError() throws Exception {
            AtomicLong written = new AtomicLong();
            try (UapiTestClient c = new UapiTestClient(socket);
                 var exec = Executors.newVirtualThreadPerTaskExecutor()) {
                c.send("set=1\nlisten_port=9\nfwmark=");
                Future<?> writer = exec.submit(() -> writeGarbage(c, written, 100 << 20, (byte) '7'));
                assertThat(c.readReplies(1)).isEqualTo("errno=-5\n\n");
                assertThat(c.closedByServer(Duration.ofSeconds(20))).isTrue();
                assertThatThrownBy(writer::get).hasRootCauseInstanceOf(IOException.class);
            }
            assertThat(written.get()).isLessThan(16 << 20);
            assertThat(device.state().listenPort()).as("lines before it are applied").isEqualTo(9);
        }

        @Test
        void aSetLargerThanTheRequestLimitIsAnIoError() throws Exception {
            server.close();
            Path small = dir.resolve("small.sock");
            try (UapiServer limited = UapiServer.start(small, device, new UapiServer.Limits(1024, 64 * 1024, 4));
                 UapiTestClient c = new UapiTestClient(small);
                 var exec = Executors.newVirtualThreadPerTaskExecutor()) {
                c.send("set=1\npublic_key=" + PEER.toHex() + "\n");
                Future<?> writer = exec.submit(() -> {
                    for (int i = 0; i < 1_000_000; i++) c.send("allowed_ip=10." + (i >> 16 & 255) + "."
                            + (i >> 8 & 255) + "." + (i & 255) + "/32\n");
                    return null;
                });
                assertThat(c.readReplies(1)).isEqualTo("errno=-5\n\n");
                assertThat(c.closedByServer(Duration.ofSeconds(20))).isTrue();
                assertThatThrownBy(writer::get).hasRootCauseInstanceOf(IOException.class);
                assertThat(limited.isClosed()).isFalse();
            }
        }

        @Test
        void connectionsBeyondTheLimitWaitUntilOneIsFree() throws Exception {
            server.close();
            Path small = dir.resolve("few.sock");
            try (UapiServer limited = UapiServer.start(small, device, new UapiServer.Limits(1024, 4096, 2));
                 var exec = Executors.newVirtualThreadPerTaskExecutor()) {
                UapiTestClient a = new UapiTestClient(small);
                UapiTestClient b = new UapiTestClient(small);
                a.send("get=1\n\n");
                b.send("get=1\n\n");
                assertThat(a.readReplies(1)).isEqualTo("errno=0\n\n"); // both are being served
                assertThat(b.readReplies(1)).isEqualTo("errno=0\n\n");
                UapiTestClient waiting = new UapiTestClient(small); // connects: the kernel queues it
                waiting.send("get=1\n\n");
                Future<String> reply = exec.submit(() -> waiting.readReplies(1));
                Thread.sleep(300);
                assertThat(reply).as("not served while two connections are open").isNotDone();
                a.close();
                assertThat(reply).succeedsWithin(SHORT).isEqualTo("errno=0\n\n");
                b.close();
                waiting.close();
            }
        }

        @Test
        void randomGarbageNeverTakesTheServerDown() throws Exception {
            Random r = new Random(0xbadc0ffeeL);
            for (int i = 0; i < 300; i++) {
                byte[] junk = new byte[r.nextInt(3000)];
                r.nextBytes(junk);
                String prefix = switch (r.nextInt(3)) {
                    case 0 -> "set=1\n";
                    case 1 -> "get=1\n";
                    default -> "";
                };
                try (UapiTestClient c = new UapiTestClient(socket)) {
                    c.send(prefix);
                    c.send(junk);
                    c.shutdownOutput();
                    String reply = c.readReplies(1);
                    assertThat(reply).as("case %d", i).matches("(?s)(|.*errno=-?\\d+\n\n)");
                } catch (IOException e) {
                    // the server may close while we still write: fine
                }
            }
            assertThat(server.isClosed()).isFalse();
            assertThat(UapiTestClient.get(socket)).endsWith("errno=0\n\n");
        }
    }

    @Nested
    class SocketFile {

        @Test
        void theSocketIsOwnerOnlyAsWireguardGosUmask077Makes() throws IOException {
            assertThat(Files.readAttributes(socket, "unix:mode", LinkOption.NOFOLLOW_LINKS).get("mode"))
                    .isEqualTo(0140700); // S_IFSOCK | 0700
            try (var entries = Files.list(dir)) {
                assertThat(entries).as("no temporary files left behind").containsExactly(socket);
            }
        }

        @Test
        void aMissingSocketDirectoryIsCreatedWith0755() throws IOException {
            Path nested = dir.resolve("run/wireguard/wg1.sock");
            try (UapiServer s = UapiServer.start(nested, device)) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(nested.getParent())))
                        .isEqualTo("rwxr-xr-x");
                assertThat(UapiTestClient.get(s.socketPath())).isEqualTo("errno=0\n\n");
            }
        }

        @Test
        void closeStopsServingAndDeletesTheSocket() throws Exception {
            server.close();
            assertThat(socket).doesNotExist();
            assertThat(server.terminated()).succeedsWithin(SHORT);
            assertThatThrownBy(() -> new UapiTestClient(socket)).isInstanceOf(IOException.class);
            server.close(); // idempotent
        }

        @Test
        void closeAlsoEndsOpenConnections() throws IOException {
            try (UapiTestClient c = new UapiTestClient(socket)) {
                c.send("set=1\nlisten_port=1\n"); // transaction left open
                server.close();
                assertThat(c.closedByServer(SHORT.multipliedBy(2))).isTrue();
            }
        }

        @Test
        void aStaleSocketIsReplaced() throws IOException {
            Path stale = dir.resolve("stale.sock");
            ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            dead.bind(UnixDomainSocketAddress.of(stale));
            dead.close(); // the file stays, nobody listens: a crashed daemon
            assertThat(stale).exists();
            try (UapiServer s = UapiServer.start(stale, device)) {
                assertThat(UapiTestClient.get(stale)).isEqualTo("errno=0\n\n");
            }
        }

        @Test
        void aSocketInUseIsNotStolen() throws IOException {
            assertThatThrownBy(() -> UapiServer.start(socket, new FakeUapiDevice()))
                    .isInstanceOf(IOException.class).hasMessageContaining("unix socket in use");
            assertThat(UapiTestClient.set(socket, "listen_port=3")).isEqualTo("errno=0\n\n");
            assertThat(device.state().listenPort()).isEqualTo(3);
        }

        @Test
        void deletingTheSocketFileStopsTheServerAsWithWireguardGo() throws Exception {
            Files.delete(socket);
            assertThat(server.terminated()).succeedsWithin(Duration.ofSeconds(10));
            assertThat(server.isClosed()).isTrue();
        }

        @Test
        void aStoppedServerDoesNotDeleteTheSocketOfItsSuccessor() throws Exception {
            Files.delete(socket);
            assertThat(server.terminated()).succeedsWithin(Duration.ofSeconds(10));
            try (UapiServer successor = UapiServer.start(socket, device)) {
                server.close();
                assertThat(UapiTestClient.get(socket)).isEqualTo("errno=0\n\n");
            }
        }

        @Test
        void interfaceNamesAreCheckedLikeLinuxDoes() {
            assertThat(UapiServer.socketPath("wg0")).isEqualTo(Path.of("/var/run/wireguard/wg0.sock"));
            assertThat(UapiServer.socketPath("a".repeat(15))).hasFileName("a".repeat(15) + ".sock");
            for (String bad : List.of("", "a".repeat(16), "../x", "a/b", ".", "..", "wg 0", "wg:0", "wg\u00e9")) {
                assertThatThrownBy(() -> UapiServer.socketPath(bad)).as(bad)
                        .isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    static Void writeGarbage(UapiTestClient c, AtomicLong written, int total, byte fill) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        java.util.Arrays.fill(chunk, fill);
        while (written.get() < total) {
            c.send(chunk);
            written.addAndGet(chunk.length);
        }
        return null;
    }

    static void awaitTrue(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not met in time");
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

}
