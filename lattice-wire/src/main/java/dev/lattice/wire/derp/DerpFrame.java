package dev.lattice.wire.derp;

import static dev.lattice.wire.derp.Derp.*;

import dev.lattice.crypto.key.NodePublicKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One DERP frame as a record. {@link #encode()} gives the whole frame with its header; {@link #decode} parses a
 * payload whose type and length came from the header. Byte arrays are copies: these records are for the control
 * frames and for tests — a relay moves packet payloads without this copy.
 */
public sealed interface DerpFrame {

    int type();

    /** Payload length, without the 5-byte header. */
    int payloadLength();

    /** Writes the payload at {@code off}. */
    void writePayload(byte[] dst, int off);

    default byte[] encode() {
        int len = payloadLength();
        byte[] b = new byte[FRAME_HEADER_LEN + len];
        putHeader(b, 0, type(), len);
        writePayload(b, FRAME_HEADER_LEN);
        return b;
    }

    /**
     * Parses a frame payload. Unknown types become {@link Unknown} (receivers skip them); a payload too short or
     * too long for its type throws {@link DerpProtocolException}.
     */
    static DerpFrame decode(int type, byte[] b, int off, int len) {
        if (off < 0 || len < 0 || off + len > b.length) throw new IndexOutOfBoundsException("payload out of bounds");
        return switch (type) {
            case FRAME_SERVER_KEY -> {
                need(type, len, 8 + KEY_LEN);
                if (!isMagic(b, off)) throw new DerpProtocolException("ServerKey frame without the DERP magic");
                yield new ServerKey(key(b, off + 8));
            }
            case FRAME_CLIENT_INFO -> {
                need(type, len, KEY_LEN + NONCE_LEN);
                if (len > MAX_CLIENT_INFO_LEN) throw new DerpProtocolException("ClientInfo frame of " + len + " bytes is too long");
                yield new ClientInfoFrame(key(b, off), Arrays.copyOfRange(b, off + KEY_LEN, off + len));
            }
            case FRAME_SERVER_INFO -> {
                need(type, len, NONCE_LEN);
                if (len > NONCE_LEN + MAX_INFO_LEN) throw new DerpProtocolException("ServerInfo frame of " + len + " bytes is too long");
                yield new ServerInfoFrame(Arrays.copyOfRange(b, off, off + len));
            }
            case FRAME_SEND_PACKET -> {
                need(type, len, KEY_LEN);
                packetSize(len - KEY_LEN);
                yield new SendPacket(key(b, off), Arrays.copyOfRange(b, off + KEY_LEN, off + len));
            }
            case FRAME_RECV_PACKET -> {
                need(type, len, KEY_LEN);
                packetSize(len - KEY_LEN);
                yield new RecvPacket(key(b, off), Arrays.copyOfRange(b, off + KEY_LEN, off + len));
            }
            case FRAME_FORWARD_PACKET -> {
                need(type, len, 2 * KEY_LEN);
                packetSize(len - 2 * KEY_LEN);
                yield new ForwardPacket(key(b, off), key(b, off + KEY_LEN), Arrays.copyOfRange(b, off + 2 * KEY_LEN, off + len));
            }
            case FRAME_KEEP_ALIVE -> new KeepAlive();
            case FRAME_NOTE_PREFERRED -> {
                exactly(type, len, 1);
                yield new NotePreferred(b[off] != 0);
            }
            case FRAME_PEER_GONE -> {
                need(type, len, KEY_LEN);
                yield new PeerGone(key(b, off), len > KEY_LEN ? b[off + KEY_LEN] & 0xff : PEER_GONE_DISCONNECTED);
            }
            case FRAME_PEER_PRESENT -> {
                need(type, len, KEY_LEN);
                InetSocketAddress ep = null;
                int flags = 0;
                if (len >= KEY_LEN + 18) {
                    ep = endpoint(b, off + KEY_LEN);
                    if (len >= KEY_LEN + 19) flags = b[off + KEY_LEN + 18] & 0xff;
                }
                yield new PeerPresent(key(b, off), ep, flags);
            }
            case FRAME_WATCH_CONNS -> {
                exactly(type, len, 0);
                yield new WatchConns();
            }
            case FRAME_CLOSE_PEER -> {
                exactly(type, len, KEY_LEN);
                yield new ClosePeer(key(b, off));
            }
            case FRAME_PING -> {
                need(type, len, 8);
                if (len > MAX_PING_LEN) throw new DerpProtocolException("Ping frame of " + len + " bytes is too long");
                yield new Ping(Arrays.copyOfRange(b, off, off + 8));
            }
            case FRAME_PONG -> {
                need(type, len, 8);
                yield new Pong(Arrays.copyOfRange(b, off, off + 8));
            }
            case FRAME_HEALTH -> new Health(new String(b, off, len, StandardCharsets.UTF_8));
            case FRAME_RESTARTING -> {
                need(type, len, 8);
                yield new Restarting(getU32(b, off) & 0xffffffffL, getU32(b, off + 4) & 0xffffffffL);
            }
            default -> new Unknown(type, Arrays.copyOfRange(b, off, off + len));
        };
    }

    private static void need(int type, int len, int min) {
        if (len < min) throw new DerpProtocolException(frameName(type) + " frame of " + len + " bytes is shorter than " + min);
    }

    private static void exactly(int type, int len, int want) {
        if (len != want) throw new DerpProtocolException(frameName(type) + " frame of " + len + " bytes, want " + want);
    }

    private static void packetSize(int n) {
        if (n > MAX_PACKET_SIZE) throw new DerpProtocolException("packet of " + n + " bytes exceeds " + MAX_PACKET_SIZE);
    }

    private static NodePublicKey key(byte[] b, int off) {
        return new NodePublicKey(Arrays.copyOfRange(b, off, off + KEY_LEN));
    }

    /** 16-byte address (IPv4 as ::ffff:a.b.c.d) and a big-endian port; all zero means "not known". */
    private static InetSocketAddress endpoint(byte[] b, int off) {
        byte[] ip = Arrays.copyOfRange(b, off, off + 16);
        int port = (b[off + 16] & 0xff) << 8 | (b[off + 17] & 0xff);
        boolean zero = port == 0;
        for (byte x : ip) zero &= x == 0;
        if (zero) return null;
        try {
            // getByAddress never resolves names; it turns ::ffff:a.b.c.d into an Inet4Address (Go's Unmap).
            return new InetSocketAddress(InetAddress.getByAddress(ip), port);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    static void putEndpoint(byte[] dst, int off, InetSocketAddress ep) {
        if (ep == null || ep.getAddress() == null) return; // zeros
        byte[] a = ep.getAddress().getAddress();
        if (a.length == 4) {
            dst[off + 10] = (byte) 0xff;
            dst[off + 11] = (byte) 0xff;
            System.arraycopy(a, 0, dst, off + 12, 4);
        } else {
            System.arraycopy(a, 0, dst, off, 16);
        }
        dst[off + 16] = (byte) (ep.getPort() >>> 8);
        dst[off + 17] = (byte) ep.getPort();
    }

    record ServerKey(NodePublicKey key) implements DerpFrame {
        public int type() { return FRAME_SERVER_KEY; }
        public int payloadLength() { return 8 + KEY_LEN; }
        public void writePayload(byte[] d, int off) {
            System.arraycopy(magic(), 0, d, off, 8);
            key.copyTo(d, off + 8);
        }
    }

    /** {@code sealed} is nonce(24) ‖ box; see {@link ClientInfo#seal}. */
    record ClientInfoFrame(NodePublicKey clientKey, byte[] sealed) implements DerpFrame {
        public int type() { return FRAME_CLIENT_INFO; }
        public int payloadLength() { return KEY_LEN + sealed.length; }
        public void writePayload(byte[] d, int off) {
            clientKey.copyTo(d, off);
            System.arraycopy(sealed, 0, d, off + KEY_LEN, sealed.length);
        }
    }

    /** {@code sealed} is nonce(24) ‖ box; see {@link ServerInfo#seal}. */
    record ServerInfoFrame(byte[] sealed) implements DerpFrame {
        public int type() { return FRAME_SERVER_INFO; }
        public int payloadLength() { return sealed.length; }
        public void writePayload(byte[] d, int off) { System.arraycopy(sealed, 0, d, off, sealed.length); }
    }

    record SendPacket(NodePublicKey dst, byte[] packet) implements DerpFrame {
        public SendPacket { packetSize(packet.length); }
        public int type() { return FRAME_SEND_PACKET; }
        public int payloadLength() { return KEY_LEN + packet.length; }
        public void writePayload(byte[] d, int off) {
            dst.copyTo(d, off);
            System.arraycopy(packet, 0, d, off + KEY_LEN, packet.length);
        }
    }

    record RecvPacket(NodePublicKey src, byte[] packet) implements DerpFrame {
        public RecvPacket { packetSize(packet.length); }
        public int type() { return FRAME_RECV_PACKET; }
        public int payloadLength() { return KEY_LEN + packet.length; }
        public void writePayload(byte[] d, int off) {
            src.copyTo(d, off);
            System.arraycopy(packet, 0, d, off + KEY_LEN, packet.length);
        }
    }

    record ForwardPacket(NodePublicKey src, NodePublicKey dst, byte[] packet) implements DerpFrame {
        public ForwardPacket { packetSize(packet.length); }
        public int type() { return FRAME_FORWARD_PACKET; }
        public int payloadLength() { return 2 * KEY_LEN + packet.length; }
        public void writePayload(byte[] d, int off) {
            src.copyTo(d, off);
            dst.copyTo(d, off + KEY_LEN);
            System.arraycopy(packet, 0, d, off + 2 * KEY_LEN, packet.length);
        }
    }

    record KeepAlive() implements DerpFrame {
        public int type() { return FRAME_KEEP_ALIVE; }
        public int payloadLength() { return 0; }
        public void writePayload(byte[] d, int off) {}
    }

    record NotePreferred(boolean preferred) implements DerpFrame {
        public int type() { return FRAME_NOTE_PREFERRED; }
        public int payloadLength() { return 1; }
        public void writePayload(byte[] d, int off) { d[off] = (byte) (preferred ? 1 : 0); }
    }

    record PeerGone(NodePublicKey peer, int reason) implements DerpFrame {
        public int type() { return FRAME_PEER_GONE; }
        public int payloadLength() { return KEY_LEN + 1; }
        public void writePayload(byte[] d, int off) {
            peer.copyTo(d, off);
            d[off + KEY_LEN] = (byte) reason;
        }
    }

    /** {@code endpoint} is null when the server did not send one (or sent zeros); {@code flags} 0 when absent. */
    record PeerPresent(NodePublicKey peer, InetSocketAddress endpoint, int flags) implements DerpFrame {
        public int type() { return FRAME_PEER_PRESENT; }
        public int payloadLength() { return KEY_LEN + 16 + 2 + 1; }
        public void writePayload(byte[] d, int off) {
            peer.copyTo(d, off);
            Arrays.fill(d, off + KEY_LEN, off + KEY_LEN + 18, (byte) 0);
            putEndpoint(d, off + KEY_LEN, endpoint);
            d[off + KEY_LEN + 18] = (byte) flags;
        }
    }

    record WatchConns() implements DerpFrame {
        public int type() { return FRAME_WATCH_CONNS; }
        public int payloadLength() { return 0; }
        public void writePayload(byte[] d, int off) {}
    }

    record ClosePeer(NodePublicKey peer) implements DerpFrame {
        public int type() { return FRAME_CLOSE_PEER; }
        public int payloadLength() { return KEY_LEN; }
        public void writePayload(byte[] d, int off) { peer.copyTo(d, off); }
    }

    record Ping(byte[] data) implements DerpFrame {
        public Ping { if (data.length != 8) throw new IllegalArgumentException("ping data must be 8 bytes"); }
        public int type() { return FRAME_PING; }
        public int payloadLength() { return 8; }
        public void writePayload(byte[] d, int off) { System.arraycopy(data, 0, d, off, 8); }
    }

    record Pong(byte[] data) implements DerpFrame {
        public Pong { if (data.length != 8) throw new IllegalArgumentException("pong data must be 8 bytes"); }
        public int type() { return FRAME_PONG; }
        public int payloadLength() { return 8; }
        public void writePayload(byte[] d, int off) { System.arraycopy(data, 0, d, off, 8); }
    }

    /** Empty problem = healthy again. */
    record Health(String problem) implements DerpFrame {
        public int type() { return FRAME_HEALTH; }
        public int payloadLength() { return problem.getBytes(StandardCharsets.UTF_8).length; }
        public void writePayload(byte[] d, int off) {
            byte[] t = problem.getBytes(StandardCharsets.UTF_8);
            System.arraycopy(t, 0, d, off, t.length);
        }
    }

    /** Advice to clients: reconnect after {@code reconnectInMillis}, keep trying for {@code tryForMillis}. */
    record Restarting(long reconnectInMillis, long tryForMillis) implements DerpFrame {
        public Restarting {
            if (reconnectInMillis < 0 || reconnectInMillis > 0xffffffffL || tryForMillis < 0 || tryForMillis > 0xffffffffL) {
                throw new IllegalArgumentException("durations must fit in u32 milliseconds");
            }
        }
        public int type() { return FRAME_RESTARTING; }
        public int payloadLength() { return 8; }
        public void writePayload(byte[] d, int off) {
            putU32(d, off, (int) reconnectInMillis);
            putU32(d, off + 4, (int) tryForMillis);
        }
    }

    /** A frame type this implementation does not know; receivers skip it. */
    record Unknown(int type, byte[] payload) implements DerpFrame {
        public int payloadLength() { return payload.length; }
        public void writePayload(byte[] d, int off) { System.arraycopy(payload, 0, d, off, payload.length); }
    }
}
