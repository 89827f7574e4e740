package dev.lattice.wire.derp;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * DERP constants and frame header helpers. A frame is {@code type u8 | length u32 BE | payload}; the length
 * excludes the 5-byte header.
 *
 * <pre>
 * 0x01 ServerKey     magic "DERP🔑" (8) | server public key (32) | future use
 * 0x02 ClientInfo    client public key (32) | nonce (24) | box(JSON ClientInfo)
 * 0x03 ServerInfo    nonce (24) | box(JSON ServerInfo)
 * 0x04 SendPacket    destination key (32) | packet
 * 0x05 RecvPacket    source key (32) | packet                      (protocol version 2)
 * 0x06 KeepAlive     empty
 * 0x07 NotePreferred 1 byte: 1 if this server is the client's home
 * 0x08 PeerGone      key (32) | reason (1, optional on the wire: absent = disconnected)
 * 0x09 PeerPresent   key (32) | ip (16) | port u16 BE | flags (1); the last two parts optional
 * 0x0a ForwardPacket source key (32) | destination key (32) | packet (mesh peers only)
 * 0x10 WatchConns    empty (mesh peers only)
 * 0x11 ClosePeer     key (32) (mesh peers only)
 * 0x12 Ping          8 bytes echoed in the Pong
 * 0x13 Pong          8 bytes
 * 0x14 Health        UTF-8 problem text; empty = healthy again
 * 0x15 Restarting    reconnect-in ms u32 BE | try-for ms u32 BE
 * </pre>
 */
public final class Derp {
    public static final int PROTOCOL_VERSION = 2;
    public static final int FRAME_HEADER_LEN = 5;
    public static final int KEY_LEN = 32;
    public static final int NONCE_LEN = 24;
    /** Largest packet a client may relay (payload of Send/Recv/ForwardPacket after the keys). */
    public static final int MAX_PACKET_SIZE = 64 << 10;
    /** Largest boxed ServerInfo a client accepts, as Go's client. */
    public static final int MAX_INFO_LEN = 1 << 20;
    /**
     * Largest ClientInfo frame a server reads. Go allows 256 KiB; real clients send about 100 bytes, and
     * capping it at the largest data frame lets one per-connection limit cover every frame a client sends.
     */
    public static final int MAX_CLIENT_INFO_LEN = MAX_PACKET_SIZE + 2 * KEY_LEN;
    /** Largest frame a server accepts from a client: a ForwardPacket of maximum size. */
    public static final int MAX_CLIENT_FRAME_LEN = MAX_PACKET_SIZE + 2 * KEY_LEN;
    /** Largest frame a client accepts from a server (Go's client refuses more than 1 MiB). */
    public static final int MAX_SERVER_FRAME_LEN = 1 << 20;
    /** Largest Ping payload a server accepts; more is taken as abuse, as in Go. */
    public static final int MAX_PING_LEN = 1000;

    public static final Duration KEEP_ALIVE = Duration.ofSeconds(60);
    public static final Duration CLIENT_READ_TIMEOUT = Duration.ofSeconds(120);
    public static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    public static final int FRAME_SERVER_KEY = 0x01;
    public static final int FRAME_CLIENT_INFO = 0x02;
    public static final int FRAME_SERVER_INFO = 0x03;
    public static final int FRAME_SEND_PACKET = 0x04;
    public static final int FRAME_RECV_PACKET = 0x05;
    public static final int FRAME_KEEP_ALIVE = 0x06;
    public static final int FRAME_NOTE_PREFERRED = 0x07;
    public static final int FRAME_PEER_GONE = 0x08;
    public static final int FRAME_PEER_PRESENT = 0x09;
    public static final int FRAME_FORWARD_PACKET = 0x0a;
    public static final int FRAME_WATCH_CONNS = 0x10;
    public static final int FRAME_CLOSE_PEER = 0x11;
    public static final int FRAME_PING = 0x12;
    public static final int FRAME_PONG = 0x13;
    public static final int FRAME_HEALTH = 0x14;
    public static final int FRAME_RESTARTING = 0x15;

    public static final int PEER_GONE_DISCONNECTED = 0x00;
    public static final int PEER_GONE_NOT_HERE = 0x01;
    /** Not sent on the wire: reported by a mesh watcher when its connection to the other server broke. */
    public static final int PEER_GONE_MESH_CONN_BROKE = 0xf0;

    public static final int PEER_PRESENT_IS_REGULAR = 1;
    public static final int PEER_PRESENT_IS_MESH_PEER = 1 << 1;
    public static final int PEER_PRESENT_IS_PROBER = 1 << 2;
    public static final int PEER_PRESENT_NOT_IDEAL = 1 << 3;

    /** HTTP headers of the upgrade exchange. */
    public static final String HEADER_VERSION = "Derp-Version";
    public static final String HEADER_PUBLIC_KEY = "Derp-Public-Key";
    public static final String HEADER_FAST_START = "Derp-Fast-Start";
    public static final String HEADER_IDEAL_NODE = "Ideal-Node";

    private static final byte[] MAGIC = "DERP🔑".getBytes(StandardCharsets.UTF_8);
    /** Disco packets start with "TS💬"; the relay only looks at this to queue them with priority. */
    private static final byte[] DISCO_MAGIC = "TS💬".getBytes(StandardCharsets.UTF_8);
    private static final int DISCO_MIN_LEN = 6 + KEY_LEN + NONCE_LEN;

    private Derp() {}

    /** The 8-byte magic that starts a ServerKey frame: 44 45 52 50 F0 9F 94 91. */
    public static byte[] magic() {
        return MAGIC.clone();
    }

    static boolean isMagic(byte[] b, int off) {
        for (int i = 0; i < MAGIC.length; i++) if (b[off + i] != MAGIC[i]) return false;
        return true;
    }

    /** Writes a frame header (type, big-endian length) at {@code off}. */
    public static void putHeader(byte[] b, int off, int type, int length) {
        b[off] = (byte) type;
        putU32(b, off + 1, length);
    }

    public static void putU32(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    public static int getU32(byte[] b, int off) {
        return (b[off] & 0xff) << 24 | (b[off + 1] & 0xff) << 16 | (b[off + 2] & 0xff) << 8 | (b[off + 3] & 0xff);
    }

    /** Like tailscale's {@code disco.LooksLikeDiscoWrapper}: magic prefix and room for key and nonce. */
    public static boolean looksLikeDisco(byte[] b, int off, int len) {
        if (len < DISCO_MIN_LEN) return false;
        for (int i = 0; i < DISCO_MAGIC.length; i++) if (b[off + i] != DISCO_MAGIC[i]) return false;
        return true;
    }

    /** The first 6 bytes of every disco packet. */
    public static byte[] discoMagic() {
        return DISCO_MAGIC.clone();
    }

    /** Smallest length at which a packet can be disco. */
    public static int discoMinLength() {
        return DISCO_MIN_LEN;
    }

    public static String frameName(int type) {
        return switch (type) {
            case FRAME_SERVER_KEY -> "ServerKey";
            case FRAME_CLIENT_INFO -> "ClientInfo";
            case FRAME_SERVER_INFO -> "ServerInfo";
            case FRAME_SEND_PACKET -> "SendPacket";
            case FRAME_RECV_PACKET -> "RecvPacket";
            case FRAME_KEEP_ALIVE -> "KeepAlive";
            case FRAME_NOTE_PREFERRED -> "NotePreferred";
            case FRAME_PEER_GONE -> "PeerGone";
            case FRAME_PEER_PRESENT -> "PeerPresent";
            case FRAME_FORWARD_PACKET -> "ForwardPacket";
            case FRAME_WATCH_CONNS -> "WatchConns";
            case FRAME_CLOSE_PEER -> "ClosePeer";
            case FRAME_PING -> "Ping";
            case FRAME_PONG -> "Pong";
            case FRAME_HEALTH -> "Health";
            case FRAME_RESTARTING -> "Restarting";
            default -> String.format("0x%02x", type);
        };
    }
}
