package dev.lattice.wire.disco;

import dev.lattice.crypto.AeadException;
import dev.lattice.crypto.NaclBox;
import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.disco.DiscoMessage.AllocateUdpRelayEndpointRequest;
import dev.lattice.wire.disco.DiscoMessage.AllocateUdpRelayEndpointResponse;
import dev.lattice.wire.disco.DiscoMessage.BindCommon;
import dev.lattice.wire.disco.DiscoMessage.BindUdpRelayEndpoint;
import dev.lattice.wire.disco.DiscoMessage.BindUdpRelayEndpointAnswer;
import dev.lattice.wire.disco.DiscoMessage.BindUdpRelayEndpointChallenge;
import dev.lattice.wire.disco.DiscoMessage.CallMeMaybe;
import dev.lattice.wire.disco.DiscoMessage.CallMeMaybeVia;
import dev.lattice.wire.disco.DiscoMessage.Ping;
import dev.lattice.wire.disco.DiscoMessage.Pong;
import dev.lattice.wire.disco.DiscoMessage.UdpRelayEndpoint;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Disco packets and messages as {@code tailscale.com/disco}. A packet is
 * {@code "TS💬" (54 53 f0 9f 92 ac) | sender disco public key (32) | nonce (24) | NaCl box (tag 16 + message)}.
 */
public final class Disco {
    public static final byte[] MAGIC = {0x54, 0x53, (byte) 0xf0, (byte) 0x9f, (byte) 0x92, (byte) 0xac};
    public static final int KEY_LEN = 32;
    public static final int NONCE_LEN = NaclBox.NONCE_LEN;
    /** Magic + sender key + nonce: the shortest thing {@link #looksLikeDiscoWrapper} accepts. */
    public static final int HEADER_LEN = MAGIC.length + KEY_LEN + NONCE_LEN;
    /** Type and version bytes. */
    public static final int MESSAGE_HEADER_LEN = 2;

    static final DiscoPublicKey ZERO_DISCO = new DiscoPublicKey(new byte[KEY_LEN]);
    private static final int EP_LEN = 16 + 2;
    private static final int PONG_LEN = TxId.LEN + EP_LEN;
    private static final int BIND_COMMON_LEN = 4 + 4 + KEY_LEN + BindCommon.CHALLENGE_LEN;
    private static final int RELAY_ENDPOINT_FIXED_LEN = 3 * KEY_LEN + 8 + 4 + 8 + 8;
    private static final int ALLOCATE_REQUEST_LEN = 2 * KEY_LEN + 4;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Disco() {}

    /** As Go's {@code LooksLikeDiscoWrapper}: long enough for the header and starts with the magic. */
    public static boolean looksLikeDiscoWrapper(byte[] p) {
        return p != null && p.length >= HEADER_LEN && Arrays.equals(p, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
    }

    /** The sender's disco key of a packet, or null if it does not look like disco (Go's {@code Source}). */
    public static DiscoPublicKey source(byte[] packet) {
        if (!looksLikeDiscoWrapper(packet)) return null;
        return new DiscoPublicKey(Arrays.copyOfRange(packet, MAGIC.length, MAGIC.length + KEY_LEN));
    }

    /** Seals {@code m} from {@code sender} with a fresh random nonce, as magicsock's {@code sendDiscoMessage}. */
    public static byte[] seal(DiscoMessage m, DiscoPublicKey sender, NaclBox.SharedKey key) {
        byte[] nonce = new byte[NONCE_LEN];
        RANDOM.nextBytes(nonce);
        return seal(m, sender, key, nonce);
    }

    /** Seals with a given nonce; a nonce must never repeat under one key, so this is for tests and vectors. */
    public static byte[] seal(DiscoMessage m, DiscoPublicKey sender, NaclBox.SharedKey key, byte[] nonce) {
        byte[] box = key.seal(m.marshal(), nonce);
        byte[] out = new byte[HEADER_LEN + box.length];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        sender.copyTo(out, MAGIC.length);
        System.arraycopy(nonce, 0, out, MAGIC.length + KEY_LEN, NONCE_LEN);
        System.arraycopy(box, 0, out, HEADER_LEN, box.length);
        return out;
    }

    /**
     * Opens a packet with the key shared with its {@link #source} and parses the message inside.
     *
     * @throws DiscoException if it is not a disco packet, the box does not open, or the message is one Go rejects
     */
    public static DiscoMessage open(byte[] packet, NaclBox.SharedKey key) {
        return parse(openBox(packet, key));
    }

    /** Opens a packet's box and returns the inner message bytes unparsed. */
    public static byte[] openBox(byte[] packet, NaclBox.SharedKey key) {
        if (!looksLikeDiscoWrapper(packet)) throw new DiscoException("not a disco packet");
        byte[] nonce = Arrays.copyOfRange(packet, MAGIC.length + KEY_LEN, HEADER_LEN);
        try {
            return key.open(Arrays.copyOfRange(packet, HEADER_LEN, packet.length), nonce);
        } catch (AeadException e) {
            throw new DiscoException("disco box did not open");
        }
    }

    /** Parses the message inside the box, accepting and rejecting exactly what Go's {@code disco.Parse} does. */
    public static DiscoMessage parse(byte[] p) {
        if (p == null || p.length < MESSAGE_HEADER_LEN) throw new DiscoException("short disco message");
        MessageType t = MessageType.of(p[0]);
        if (t == null) throw new DiscoException(String.format("unknown disco message type 0x%02x", p[0] & 0xff));
        int ver = p[1] & 0xff;
        ByteBuffer b = ByteBuffer.wrap(p, MESSAGE_HEADER_LEN, p.length - MESSAGE_HEADER_LEN).slice();
        return switch (t) {
            case PING -> parsePing(b);
            case PONG -> parsePong(b);
            case CALL_ME_MAYBE -> parseCallMeMaybe(ver, b);
            case BIND_UDP_RELAY_ENDPOINT -> new BindUdpRelayEndpoint(parseBindCommon(b));
            case BIND_UDP_RELAY_ENDPOINT_CHALLENGE -> new BindUdpRelayEndpointChallenge(parseBindCommon(b));
            case BIND_UDP_RELAY_ENDPOINT_ANSWER -> new BindUdpRelayEndpointAnswer(parseBindCommon(b));
            // Go returns the zero message for versions it does not know, rather than an error.
            case CALL_ME_MAYBE_VIA -> new CallMeMaybeVia(ver != 0 ? UdpRelayEndpoint.ZERO : parseRelayEndpoint(b));
            case ALLOCATE_UDP_RELAY_ENDPOINT_REQUEST -> parseAllocateRequest(ver, b);
            case ALLOCATE_UDP_RELAY_ENDPOINT_RESPONSE -> parseAllocateResponse(ver, b);
        };
    }

    private static Ping parsePing(ByteBuffer b) {
        if (b.remaining() < TxId.LEN) throw new DiscoException("short disco ping");
        TxId tx = new TxId(take(b, TxId.LEN));
        // Deliberately lax like Go: the key is optional and whatever follows counts as padding.
        NodePublicKey nodeKey = b.remaining() >= KEY_LEN ? new NodePublicKey(take(b, KEY_LEN)) : null;
        return new Ping(tx, nodeKey, b.remaining());
    }

    private static Pong parsePong(ByteBuffer b) {
        if (b.remaining() < PONG_LEN) throw new DiscoException("short disco pong");
        return new Pong(new TxId(take(b, TxId.LEN)), readEndpoint(b));
    }

    private static CallMeMaybe parseCallMeMaybe(int ver, ByteBuffer b) {
        // Go silently reads a ragged, empty or future-version list as "no endpoints".
        if (b.remaining() % EP_LEN != 0 || ver != 0 || !b.hasRemaining()) return new CallMeMaybe(List.of());
        List<InetSocketAddress> eps = new ArrayList<>(b.remaining() / EP_LEN);
        while (b.hasRemaining()) eps.add(readEndpoint(b));
        return new CallMeMaybe(eps);
    }

    private static BindCommon parseBindCommon(ByteBuffer b) {
        if (b.remaining() < BIND_COMMON_LEN) throw new DiscoException("short disco relay bind message");
        int vni = b.getInt();
        int generation = b.getInt();
        return new BindCommon(vni, generation, new DiscoPublicKey(take(b, KEY_LEN)), take(b, BindCommon.CHALLENGE_LEN));
    }

    private static UdpRelayEndpoint parseRelayEndpoint(ByteBuffer b) {
        int n = b.remaining();
        if (n < RELAY_ENDPOINT_FIXED_LEN + EP_LEN || (n - RELAY_ENDPOINT_FIXED_LEN) % EP_LEN != 0) {
            throw new DiscoException("short or ragged disco relay endpoint");
        }
        DiscoPublicKey server = new DiscoPublicKey(take(b, KEY_LEN));
        DiscoPublicKey c1 = new DiscoPublicKey(take(b, KEY_LEN));
        DiscoPublicKey c2 = new DiscoPublicKey(take(b, KEY_LEN));
        long lamport = b.getLong();
        int vni = b.getInt();
        Duration bind = Duration.ofNanos(b.getLong());
        Duration steady = Duration.ofNanos(b.getLong());
        List<InetSocketAddress> eps = new ArrayList<>(b.remaining() / EP_LEN);
        while (b.hasRemaining()) eps.add(readEndpoint(b));
        return new UdpRelayEndpoint(server, c1, c2, lamport, vni, bind, steady, eps);
    }

    private static AllocateUdpRelayEndpointRequest parseAllocateRequest(int ver, ByteBuffer b) {
        if (ver != 0) return new AllocateUdpRelayEndpointRequest(ZERO_DISCO, ZERO_DISCO, 0);
        if (b.remaining() < ALLOCATE_REQUEST_LEN) throw new DiscoException("short disco allocate request");
        DiscoPublicKey c1 = new DiscoPublicKey(take(b, KEY_LEN));
        DiscoPublicKey c2 = new DiscoPublicKey(take(b, KEY_LEN));
        return new AllocateUdpRelayEndpointRequest(c1, c2, b.getInt());
    }

    private static AllocateUdpRelayEndpointResponse parseAllocateResponse(int ver, ByteBuffer b) {
        if (ver != 0) return new AllocateUdpRelayEndpointResponse(0, UdpRelayEndpoint.ZERO);
        if (b.remaining() < 4) throw new DiscoException("short disco allocate response");
        int generation = b.getInt();
        return new AllocateUdpRelayEndpointResponse(generation, parseRelayEndpoint(b.slice()));
    }

    private static byte[] take(ByteBuffer b, int n) {
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    /** ip16 + port; a v4-mapped address comes back as IPv4 (Go's {@code Unmap}; Java's getByAddress does it). */
    private static InetSocketAddress readEndpoint(ByteBuffer b) {
        byte[] ip = take(b, 16);
        int port = Short.toUnsignedInt(b.getShort());
        try {
            return new InetSocketAddress(InetAddress.getByAddress(ip), port);
        } catch (UnknownHostException e) {
            throw new AssertionError("16 bytes are always an address", e);
        }
    }

    static byte[] marshal(DiscoMessage m) {
        int len = switch (m) {
            case Ping p -> TxId.LEN + (p.nodeKey() == null ? 0 : KEY_LEN) + p.padding();
            case Pong p -> PONG_LEN;
            case CallMeMaybe c -> EP_LEN * c.myNumber().size();
            case BindUdpRelayEndpoint x -> BIND_COMMON_LEN;
            case BindUdpRelayEndpointChallenge x -> BIND_COMMON_LEN;
            case BindUdpRelayEndpointAnswer x -> BIND_COMMON_LEN;
            case CallMeMaybeVia v -> relayEndpointLen(v.endpoint());
            case AllocateUdpRelayEndpointRequest r -> ALLOCATE_REQUEST_LEN;
            case AllocateUdpRelayEndpointResponse r -> 4 + relayEndpointLen(r.endpoint());
        };
        ByteBuffer b = ByteBuffer.allocate(MESSAGE_HEADER_LEN + len);
        b.put((byte) m.type().code()).put((byte) 0);
        switch (m) {
            case Ping p -> {
                b.put(p.txId().bytes());
                if (p.nodeKey() != null) b.put(p.nodeKey().raw());
                // padding: already zero
            }
            case Pong p -> writeEndpoint(b.put(p.txId().bytes()), p.src());
            case CallMeMaybe c -> c.myNumber().forEach(ep -> writeEndpoint(b, ep));
            case BindUdpRelayEndpoint x -> writeBindCommon(b, x.common());
            case BindUdpRelayEndpointChallenge x -> writeBindCommon(b, x.common());
            case BindUdpRelayEndpointAnswer x -> writeBindCommon(b, x.common());
            case CallMeMaybeVia v -> writeRelayEndpoint(b, v.endpoint());
            case AllocateUdpRelayEndpointRequest r ->
                    b.put(r.clientDisco1().raw()).put(r.clientDisco2().raw()).putInt(r.generation());
            case AllocateUdpRelayEndpointResponse r -> writeRelayEndpoint(b.putInt(r.generation()), r.endpoint());
        }
        return b.array();
    }

    private static int relayEndpointLen(UdpRelayEndpoint e) {
        return RELAY_ENDPOINT_FIXED_LEN + EP_LEN * e.addrPorts().size();
    }

    private static void writeBindCommon(ByteBuffer b, BindCommon c) {
        b.putInt(c.vni()).putInt(c.generation()).put(c.remoteKey().raw()).put(c.challenge());
    }

    private static void writeRelayEndpoint(ByteBuffer b, UdpRelayEndpoint e) {
        b.put(e.serverDisco().raw()).put(e.clientDisco1().raw()).put(e.clientDisco2().raw());
        b.putLong(e.lamportId()).putInt(e.vni());
        b.putLong(e.bindLifetime().toNanos()).putLong(e.steadyStateLifetime().toNanos());
        e.addrPorts().forEach(ep -> writeEndpoint(b, ep));
    }

    private static void writeEndpoint(ByteBuffer b, InetSocketAddress ep) {
        byte[] ip = ep.getAddress().getAddress();
        if (ep.getAddress() instanceof Inet4Address) {
            b.put(new byte[10]).put((byte) 0xff).put((byte) 0xff);
        }
        b.put(ip).putShort((short) ep.getPort());
    }

    static void checkAddress(InetSocketAddress a) {
        if (a == null || a.getAddress() == null) throw new IllegalArgumentException("disco endpoint needs a resolved address");
    }

    static void checkNanos(Duration d, String what) {
        if (d == null) throw new IllegalArgumentException(what + " is null");
        try {
            d.toNanos();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(what + " does not fit Go's time.Duration");
        }
    }
}
