package dev.lattice.derp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.Loopback;
import dev.lattice.derp.Recorder;
import dev.lattice.derp.client.DerpClient;
import dev.lattice.derp.standalone.StandaloneDerper;
import dev.lattice.wire.derp.ClientInfo;
import dev.lattice.wire.derp.Derp;
import dev.lattice.wire.derp.DerpFrame;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Hostile or broken connections are closed alone; everyone else keeps relaying. */
class AbuseTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private final Loopback lab = new Loopback();
    private StandaloneDerper d;
    private DerpClient a, b;
    private Recorder rb;

    @BeforeEach
    void setUp() throws Exception {
        d = lab.server(DerpServerOptions.defaults().withHandshakeTimeout(Duration.ofSeconds(2))
                .withWriteTimeout(Duration.ofMillis(500)).withWriteBufferHighWaterMark(16 * 1024));
        rb = new Recorder();
        a = lab.client(d, new Recorder());
        b = lab.client(d, rb);
        a.connect().get(5, TimeUnit.SECONDS);
        b.connect().get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void tearDown() {
        lab.close();
    }

    private void healthyPairStillRelays() throws InterruptedException {
        // a may be the one flooding: its own send queue can be full for a moment, which is not the server's doing
        long end = System.nanoTime() + WAIT.toNanos();
        while (!a.send(b.publicKey(), new byte[] {7})) {
            assertThat(System.nanoTime()).as("a's send queue stayed full").isLessThan(end);
            Thread.sleep(1);
        }
        Recorder.Packet p = rb.next(WAIT);
        assertThat(p).isNotNull();
        assertThat(p.data()).containsExactly(7);
    }

    /** A raw socket that completes the handshake as a real client would. */
    private Socket handshaken(NodePrivateKey k) throws IOException {
        Socket s = upgraded();
        InputStream in = s.getInputStream();
        byte[] sk = in.readNBytes(45);
        var serverKey = ((DerpFrame.ServerKey) DerpFrame.decode(sk[0], sk, 5, 40)).key();
        s.getOutputStream().write(new DerpFrame.ClientInfoFrame(k.publicKey(), ClientInfo.of(null, true).seal(serverKey, k)).encode());
        byte[] hdr = in.readNBytes(5);
        assertThat(hdr[0]).isEqualTo((byte) Derp.FRAME_SERVER_INFO);
        in.readNBytes(Derp.getU32(hdr, 1));
        return s;
    }

    private Socket upgraded() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", d.boundAddress().getPort()), 2000);
        s.setSoTimeout(5000);
        s.getOutputStream().write("GET /derp HTTP/1.1\r\nHost: x\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        String head = readHead(s.getInputStream());
        assertThat(head).startsWith("HTTP/1.1 101 Switching Protocols\r\n").contains("Derp-Version: 2\r\n")
                .contains("Derp-Public-Key: " + d.server().publicKey().toHex());
        return s;
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) break;
            sb.append((char) c);
        }
        return sb.toString();
    }

    private static boolean closedByPeer(Socket s) {
        try {
            s.setSoTimeout(3000);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            while (true) if (in.read(buf) < 0) return true;
        } catch (IOException e) {
            return e.getMessage() != null && (e.getMessage().contains("reset") || e.getMessage().contains("closed"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lying-length", "short-send", "bad-note-preferred", "watch-without-key", "forward-without-key"})
    void malformedFramesCloseOnlyThatConnection(String kind) throws Exception {
        try (Socket s = handshaken(NodePrivateKey.generate())) {
            byte[] bad = switch (kind) {
                case "lying-length" -> new byte[] {Derp.FRAME_SEND_PACKET, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 2};
                case "short-send" -> new byte[] {Derp.FRAME_SEND_PACKET, 0, 0, 0, 3, 1, 2, 3};
                case "bad-note-preferred" -> new byte[] {Derp.FRAME_NOTE_PREFERRED, 0, 0, 0, 2, 1, 1};
                case "watch-without-key" -> new DerpFrame.WatchConns().encode();
                default -> new DerpFrame.ForwardPacket(a.publicKey(), b.publicKey(), new byte[4]).encode();
            };
            s.getOutputStream().write(bad);
            assertThat(closedByPeer(s)).isTrue();
        }
        healthyPairStillRelays();
        assertThat(d.server().stats().protocolErrors()).isEqualTo(1);
    }

    @Test
    void garbageHandshakesAndSilentConnectionsAreClosed() throws Exception {
        Random r = new Random(4);
        for (int i = 0; i < 20; i++) {
            try (Socket s = upgraded()) {
                s.getInputStream().readNBytes(45);
                byte[] g = new byte[5 + r.nextInt(200)];
                r.nextBytes(g);
                g[1] = 0;
                g[2] = 0; // lengths below 64 KiB so the frame gets parsed, not refused for its size
                s.getOutputStream().write(g);
                assertThat(closedByPeer(s)).as("garbage %d", i).isTrue();
            }
        }
        try (Socket silent = upgraded()) {
            long t0 = System.nanoTime();
            // the handshake timeout: 2 s here (a cold JVM on a busy machine must still connect the healthy
            // clients within it), 10 s by default
            assertThat(closedByPeer(silent)).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isBetween(Duration.ofMillis(1500), Duration.ofSeconds(4));
        }
        healthyPairStillRelays();
    }

    @Test
    void frameBeforeUpgradeEndsIsNotLostAndPlainHttpGetsA426() throws Exception {
        // Client info written in the same segment as the request (as a fast-start client does).
        NodePrivateKey k = NodePrivateKey.generate();
        try (Socket s = new Socket("127.0.0.1", d.boundAddress().getPort())) {
            s.setSoTimeout(5000);
            byte[] req = ("GET /derp HTTP/1.1\r\nHost: x\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n" + Derp.HEADER_FAST_START + ": 1\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            byte[] ci = new DerpFrame.ClientInfoFrame(k.publicKey(), ClientInfo.of(null, true).seal(d.server().publicKey(), k)).encode();
            byte[] both = Arrays.copyOf(req, req.length + ci.length);
            System.arraycopy(ci, 0, both, req.length, ci.length);
            OutputStream out = s.getOutputStream();
            out.write(both);
            InputStream in = s.getInputStream();
            byte[] sk = in.readNBytes(45); // fast start: no HTTP response, ServerKey first
            assertThat(sk[0]).isEqualTo((byte) Derp.FRAME_SERVER_KEY);
            assertThat(in.readNBytes(1)[0]).isEqualTo((byte) Derp.FRAME_SERVER_INFO);
        }
        try (Socket s = new Socket("127.0.0.1", d.boundAddress().getPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write("GET /derp HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readHead(s.getInputStream())).startsWith("HTTP/1.1 426");
        }
    }

    @Test
    void aClientThatNeverReadsCannotStallOthersAndIsCutOff() throws Exception {
        NodePrivateKey k = NodePrivateKey.generate();
        try (Socket stuck = handshaken(k)) {
            stuck.setReceiveBufferSize(4096);
            byte[] pkt = new byte[1200];
            // Keep pushing towards a reader that never reads until the kernel buffers are full and the server gives up.
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            int sent = 0;
            while (d.server().isLocal(k.publicKey()) && System.nanoTime() < end) {
                if (a.send(k.publicKey(), pkt)) sent++;
                else Thread.sleep(1);
                if (sent % 2000 == 0) healthyPairStillRelays();
            }
            assertThat(d.server().isLocal(k.publicKey())).as("cut off after %d packets", sent).isFalse();
            var st = d.server().stats();
            assertThat(st.writeTimeouts()).isEqualTo(1);
            assertThat(st.drops().get(DerpServer.DropReason.QUEUE_HEAD) + st.drops().get(DerpServer.DropReason.GONE_DISCONNECTED)
                    + st.drops().get(DerpServer.DropReason.UNKNOWN_DEST)).isPositive();
        }
        healthyPairStillRelays();
    }

    private static void await(BooleanSupplier c) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("condition not met in time");
            Thread.sleep(20);
        }
    }
}
