package dev.lattice.wire.derp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class DerpFrameTest {
    private static final NodePublicKey A = NodePrivateKey.generate().publicKey();
    private static final NodePublicKey B = NodePrivateKey.generate().publicKey();

    static List<DerpFrame> samples() {
        return List.of(
                new DerpFrame.ServerKey(A),
                new DerpFrame.ClientInfoFrame(A, new byte[24 + 16 + 5]),
                new DerpFrame.ServerInfoFrame(new byte[24 + 16 + 13]),
                new DerpFrame.SendPacket(B, new byte[] {1, 2, 3}),
                new DerpFrame.SendPacket(B, new byte[Derp.MAX_PACKET_SIZE]),
                new DerpFrame.RecvPacket(A, new byte[0]),
                new DerpFrame.ForwardPacket(A, B, new byte[] {9}),
                new DerpFrame.KeepAlive(),
                new DerpFrame.NotePreferred(true),
                new DerpFrame.NotePreferred(false),
                new DerpFrame.PeerGone(A, Derp.PEER_GONE_NOT_HERE),
                new DerpFrame.PeerPresent(A, new InetSocketAddress("10.1.2.3", 41641), Derp.PEER_PRESENT_IS_REGULAR),
                new DerpFrame.PeerPresent(B, new InetSocketAddress("fd7a::1", 1), Derp.PEER_PRESENT_IS_MESH_PEER),
                new DerpFrame.PeerPresent(B, null, 0),
                new DerpFrame.WatchConns(),
                new DerpFrame.ClosePeer(B),
                new DerpFrame.Ping(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}),
                new DerpFrame.Pong(new byte[] {8, 7, 6, 5, 4, 3, 2, 1}),
                new DerpFrame.Health("duplicate key"),
                new DerpFrame.Health(""),
                new DerpFrame.Restarting(1, 0xffffffffL),
                new DerpFrame.Unknown(0x7f, new byte[] {1}));
    }

    @ParameterizedTest
    @MethodSource("samples")
    void everyFrameRoundTrips(DerpFrame f) {
        byte[] wire = f.encode();
        assertThat(wire[0] & 0xff).isEqualTo(f.type());
        assertThat(Derp.getU32(wire, 1)).isEqualTo(wire.length - 5);
        DerpFrame back = DerpFrame.decode(wire[0] & 0xff, wire, 5, wire.length - 5);
        assertThat(back).usingRecursiveComparison().isEqualTo(f);
    }

    @Test
    void layoutsMatchGoByteForByte() {
        // Go client_test.go: ping, pong, health and restarting as they arrive from a server.
        assertThat(new DerpFrame.Ping(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}).encode())
                .isEqualTo(new byte[] {0x12, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8});
        assertThat(new DerpFrame.Health("BAD").encode()).isEqualTo(new byte[] {0x14, 0, 0, 0, 3, 'B', 'A', 'D'});
        assertThat(new DerpFrame.Restarting(1, 2).encode()).isEqualTo(new byte[] {0x15, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 2});
        // PeerPresent: key, IPv4 as ::ffff:a.b.c.d, port big-endian, flags — 51 bytes like Go's server.
        byte[] pp = new DerpFrame.PeerPresent(A, new InetSocketAddress("1.2.3.4", 0x1234), 3).encode();
        assertThat(pp.length).isEqualTo(5 + 51);
        assertThat(Arrays.copyOfRange(pp, 37, 56)).isEqualTo(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 1, 2, 3, 4, 0x12, 0x34, 3});
        assertThat(new DerpFrame.NotePreferred(true).encode()).isEqualTo(new byte[] {7, 0, 0, 0, 1, 1});
        assertThat(new DerpFrame.WatchConns().encode()).isEqualTo(new byte[] {0x10, 0, 0, 0, 0});
    }

    @Test
    void olderServersShortFramesStillDecode() {
        byte[] key = A.raw();
        var gone = (DerpFrame.PeerGone) DerpFrame.decode(Derp.FRAME_PEER_GONE, key, 0, 32);
        assertThat(gone.reason()).isEqualTo(Derp.PEER_GONE_DISCONNECTED);
        var present = (DerpFrame.PeerPresent) DerpFrame.decode(Derp.FRAME_PEER_PRESENT, key, 0, 32);
        assertThat(present.endpoint()).isNull();
        assertThat(present.flags()).isZero();
        byte[] ping = new byte[100];
        assertThat(DerpFrame.decode(Derp.FRAME_PING, ping, 0, 100)).isInstanceOf(DerpFrame.Ping.class);
    }

    @Test
    void lyingOrAbusiveLengthsAreProtocolErrors() {
        byte[] big = new byte[Derp.MAX_CLIENT_FRAME_LEN + 1];
        assertThatThrownBy(() -> DerpFrame.decode(Derp.FRAME_SEND_PACKET, big, 0, 32 + Derp.MAX_PACKET_SIZE + 1))
                .isInstanceOf(DerpProtocolException.class).hasMessageContaining("exceeds");
        assertThatThrownBy(() -> DerpFrame.decode(Derp.FRAME_SEND_PACKET, big, 0, 31)).hasMessageContaining("shorter");
        assertThatThrownBy(() -> DerpFrame.decode(Derp.FRAME_NOTE_PREFERRED, big, 0, 2)).hasMessageContaining("want 1");
        assertThatThrownBy(() -> DerpFrame.decode(Derp.FRAME_WATCH_CONNS, big, 0, 1)).hasMessageContaining("want 0");
        assertThatThrownBy(() -> DerpFrame.decode(Derp.FRAME_PING, big, 0, 1001)).hasMessageContaining("too long");
        assertThatThrownBy(() -> DerpFrame.decode(Derp.FRAME_CLIENT_INFO, big, 0, Derp.MAX_CLIENT_INFO_LEN + 1)).hasMessageContaining("too long");
        byte[] notMagic = new byte[40];
        assertThatThrownBy(() -> DerpFrame.decode(Derp.FRAME_SERVER_KEY, notMagic, 0, 40)).hasMessageContaining("magic");
        assertThatThrownBy(() -> new DerpFrame.SendPacket(A, new byte[Derp.MAX_PACKET_SIZE + 1])).isInstanceOf(DerpProtocolException.class);
    }

    @Test
    void discoDetectionNeedsMagicAndRoomForKeyAndNonce() {
        byte[] p = new byte[Derp.discoMinLength()];
        System.arraycopy(Derp.discoMagic(), 0, p, 0, 6);
        assertThat(Derp.looksLikeDisco(p, 0, p.length)).isTrue();
        assertThat(Derp.looksLikeDisco(p, 0, p.length - 1)).isFalse();
        p[0] = 'X';
        assertThat(Derp.looksLikeDisco(p, 0, p.length)).isFalse();
    }

    static Stream<Long> seeds() {
        return IntStream.range(0, 40).mapToObj(i -> 0xDE29L * 31 + i);
    }

    /** Random payloads of every type decode or fail with DerpProtocolException — never anything else. */
    @ParameterizedTest
    @MethodSource("seeds")
    void randomPayloadsNeverCrashTheDecoder(long seed) {
        Random r = new Random(seed);
        for (int i = 0; i < 500; i++) {
            int type = r.nextInt(0x18);
            int len = r.nextInt(4) == 0 ? r.nextInt(200) : r.nextInt(80);
            byte[] b = new byte[len + 3];
            r.nextBytes(b);
            try {
                DerpFrame f = DerpFrame.decode(type, b, 3, len);
                // Whatever decodes re-encodes to a frame that decodes to the same record.
                byte[] again = f.encode();
                assertThat(DerpFrame.decode(type, again, 5, again.length - 5)).usingRecursiveComparison().isEqualTo(f);
            } catch (DerpProtocolException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
        }
    }
}
