package dev.lattice.wire.disco;

import static dev.lattice.wire.disco.GoVectors.filled;
import static dev.lattice.wire.disco.GoVectors.seq;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.NodePrivateKey;
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
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DiscoTest {
    static final GoVectors GO = GoVectors.load();
    static final TxId TX = new TxId(seq(1, 12));
    static final DiscoPrivateKey SENDER = new DiscoPrivateKey(filled(0x11, 32));
    static final DiscoPrivateKey RECEIVER = new DiscoPrivateKey(filled(0x22, 32));

    static DiscoPublicKey disco(int v) {
        return new DiscoPrivateKey(filled(v, 32)).publicKey();
    }

    static InetSocketAddress ep(String ip, int port) throws Exception {
        return new InetSocketAddress(InetAddress.getByName(ip), port);
    }

    /** The same messages the Go generator marshalled, built here independently. */
    static Map<String, DiscoMessage> javaMessages() throws Exception {
        var nodeKey = new NodePrivateKey(filled(0x33, 32)).publicKey();
        var common = new BindCommon(0x00abcdef, 0xfedcba98, disco(0x44), seq(0x80, 32));
        var endpoint = new UdpRelayEndpoint(disco(0x55), disco(0x66), disco(0x77), 0x0102030405060708L, 7,
                Duration.ofSeconds(30), Duration.ofMinutes(5), List.of(ep("192.0.2.7", 7777), ep("2001:db8::7", 8888)));
        return Map.ofEntries(
                Map.entry("ping-nokey", new Ping(TX, null)),
                Map.entry("ping-key", new Ping(TX, nodeKey)),
                Map.entry("ping-padding", new Ping(TX, nodeKey, 20)),
                Map.entry("pong-v4", new Pong(TX, ep("1.2.3.4", 41641))),
                Map.entry("pong-v6", new Pong(TX, ep("fd7a:115c:a1e0::1", 12345))),
                Map.entry("callmemaybe-empty", new CallMeMaybe(List.of())),
                Map.entry("callmemaybe", new CallMeMaybe(List.of(ep("10.0.0.1", 41641), ep("2001:db8::1", 41641),
                        ep("203.0.113.9", 65535)))),
                Map.entry("bind", new BindUdpRelayEndpoint(common)),
                Map.entry("bind-challenge", new BindUdpRelayEndpointChallenge(common)),
                Map.entry("bind-answer", new BindUdpRelayEndpointAnswer(common)),
                Map.entry("callmemaybe-via", new CallMeMaybeVia(endpoint)),
                Map.entry("allocate-request", new AllocateUdpRelayEndpointRequest(disco(0x66), disco(0x77), 0x89abcdef)),
                Map.entry("allocate-response", new AllocateUdpRelayEndpointResponse(0x89abcdef, endpoint)));
    }

    @Test
    void marshalsEveryMessageTypeExactlyAsGo() throws Exception {
        Map<String, DiscoMessage> ours = javaMessages();
        assertThat(ours.keySet()).isEqualTo(GO.messages.keySet());
        GO.messages.forEach((name, goBytes) ->
                assertThat(HexFormat.of().formatHex(ours.get(name).marshal())).as(name).isEqualTo(HexFormat.of().formatHex(goBytes)));
    }

    @Test
    void parsesGoBytesIntoTheSameMessages() throws Exception {
        Map<String, DiscoMessage> ours = javaMessages();
        GO.messages.forEach((name, goBytes) -> assertThat(Disco.parse(goBytes)).as(name).isEqualTo(ours.get(name)));
    }

    @Test
    void pongUnmapsV4MappedAddressesLikeGo() {
        var pong = (Pong) Disco.parse(GO.messages.get("pong-v4"));
        assertThat(pong.src().getAddress()).isInstanceOf(Inet4Address.class);
        assertThat(pong.src().getAddress().getHostAddress()).isEqualTo("1.2.3.4");
        assertThat(pong.src().getPort()).isEqualTo(41641);
    }

    static Stream<Arguments> goParseOutcomes() {
        HexFormat h = HexFormat.of();
        return IntStream.range(0, GO.parses.size()).mapToObj(i -> {
            byte[][] p = GO.parses.get(i);
            return Arguments.of(h.formatHex(p[0]), p[1] == null ? null : h.formatHex(p[1]));
        });
    }

    /** Every truncation, trailing bytes, odd versions and every type byte: accept and reject exactly as Go. */
    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("goParseOutcomes")
    void parseAcceptsAndRejectsExactlyAsGo(String input, String goRemarshalled) {
        byte[] in = HexFormat.of().parseHex(input);
        if (goRemarshalled == null) {
            assertThatThrownBy(() -> Disco.parse(in)).isInstanceOf(DiscoException.class);
        } else {
            assertThat(HexFormat.of().formatHex(Disco.parse(in).marshal())).isEqualTo(goRemarshalled);
        }
    }

    @Test
    void parseOutcomesCoverBothSides() {
        assertThat(GO.parses).hasSizeGreaterThan(1000);
        assertThat(GO.parses.stream().filter(p -> p[1] == null).count()).isGreaterThan(500);
        assertThat(GO.parses.stream().filter(p -> p[1] != null).count()).isGreaterThan(150);
    }

    @Test
    void pingToleratesPaddingAndAShortKeyLikeGo() {
        byte[] b = new byte[2 + 12 + 20];
        b[0] = 1;
        b[1] = 9; // versions are ignored for pings
        var ping = (Ping) Disco.parse(b);
        assertThat(ping.nodeKey()).isNull();
        assertThat(ping.padding()).isEqualTo(20);
        assertThatThrownBy(() -> Disco.parse(new byte[] {1, 0, 1, 2, 3})).isInstanceOf(DiscoException.class)
                .hasMessageContaining("short");
        assertThatThrownBy(() -> Disco.parse(new byte[] {0x0a, 0})).isInstanceOf(DiscoException.class)
                .hasMessageContaining("0x0a");
    }

    /**
     * Go's quirk, kept: a keyless ping's padding of 32+ bytes reads back as an (all-zero, so absent) key plus the
     * rest as padding. Real senders always include their key.
     */
    @Test
    void keylessPaddedPingReadsBackAsGoDoes() {
        var ping = (Ping) Disco.parse(new Ping(TX, null, 40).marshal());
        assertThat(ping.nodeKey()).isNull();
        assertThat(ping.padding()).isEqualTo(8);
    }

    @Test
    void sealsByteForByteAsGoWithAFixedNonce() {
        assertThat(SENDER.publicKey().raw()).isEqualTo(GO.keys.get("sender-public"));
        assertThat(RECEIVER.publicKey().raw()).isEqualTo(GO.keys.get("receiver-public"));
        var ping = Disco.parse(GO.messages.get("ping-key"));
        byte[] packet = Disco.seal(ping, SENDER.publicKey(), SENDER.shared(RECEIVER.publicKey()), seq(0, 24));
        assertThat(packet).isEqualTo(GO.packets.get("fixed-nonce-ping-key"));
    }

    @Test
    void opensGoPackets() throws Exception {
        for (var e : Map.of("fixed-nonce-ping-key", "ping-key", "random-nonce-pong-v4", "pong-v4").entrySet()) {
            byte[] packet = GO.packets.get(e.getKey());
            assertThat(Disco.looksLikeDiscoWrapper(packet)).isTrue();
            assertThat(Disco.source(packet)).isEqualTo(SENDER.publicKey());
            var key = RECEIVER.shared(Disco.source(packet));
            assertThat(Disco.open(packet, key)).isEqualTo(javaMessages().get(e.getValue()));
        }
    }

    @Test
    void refusesTamperedOrForeignPackets() {
        byte[] good = GO.packets.get("fixed-nonce-ping-key");
        var key = RECEIVER.shared(SENDER.publicKey());
        for (int i = Disco.HEADER_LEN - 24; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= 1;
            assertThatThrownBy(() -> Disco.open(bad, key)).as("flip byte %d", i).isInstanceOf(DiscoException.class);
        }
        var stranger = DiscoPrivateKey.generate().shared(SENDER.publicKey());
        assertThatThrownBy(() -> Disco.open(good, stranger)).isInstanceOf(DiscoException.class);
        assertThatThrownBy(() -> Disco.open(java.util.Arrays.copyOf(good, Disco.HEADER_LEN + 15), key))
                .isInstanceOf(DiscoException.class);
        assertThatThrownBy(() -> Disco.open(new byte[100], key)).isInstanceOf(DiscoException.class)
                .hasMessageContaining("not a disco packet");
    }

    @Test
    void looksLikeDiscoWrapperNeedsMagicAndTheWholeHeader() {
        byte[] p = new byte[Disco.HEADER_LEN];
        System.arraycopy(Disco.MAGIC, 0, p, 0, 6);
        assertThat(Disco.looksLikeDiscoWrapper(p)).isTrue();
        assertThat(Disco.looksLikeDiscoWrapper(java.util.Arrays.copyOf(p, Disco.HEADER_LEN - 1))).isFalse();
        p[5] = 0;
        assertThat(Disco.looksLikeDiscoWrapper(p)).isFalse();
        assertThat(Disco.source(p)).isNull();
        assertThat(Disco.looksLikeDiscoWrapper(null)).isFalse();
    }

    static Stream<Long> seeds() {
        return java.util.stream.LongStream.range(1, 21).boxed();
    }

    /** Random messages of every type survive seal, open and parse unchanged. */
    @ParameterizedTest
    @MethodSource("seeds")
    void randomMessagesRoundTrip(long seed) throws Exception {
        Random r = new Random(seed);
        var key = SENDER.shared(RECEIVER.publicKey());
        var back = RECEIVER.shared(SENDER.publicKey());
        for (int i = 0; i < 200; i++) {
            DiscoMessage m = randomMessage(r);
            assertThat(Disco.parse(m.marshal())).isEqualTo(m);
            assertThat(Disco.open(Disco.seal(m, SENDER.publicKey(), key), back)).isEqualTo(m);
        }
    }

    /** Garbage and mutated messages are either parsed or refused with DiscoException, never anything else. */
    @ParameterizedTest
    @MethodSource("seeds")
    void garbageOnlyEverGivesDiscoException(long seed) throws Exception {
        Random r = new Random(seed);
        var key = RECEIVER.shared(SENDER.publicKey());
        int parsed = 0;
        for (int i = 0; i < 2000; i++) {
            byte[] in;
            if (r.nextBoolean()) {
                in = new byte[r.nextInt(300)];
                r.nextBytes(in);
                if (in.length > 0 && r.nextBoolean()) in[0] = (byte) (1 + r.nextInt(9));
            } else {
                byte[] good = randomMessage(r).marshal();
                in = java.util.Arrays.copyOf(good, r.nextInt(good.length + 40));
                for (int k = r.nextInt(4); k >= 0 && in.length > 0; k--) in[r.nextInt(in.length)] = (byte) r.nextInt(256);
            }
            try {
                DiscoMessage m = Disco.parse(in);
                parsed++;
                // Whatever we accept we can write again, and (pings aside, whose key/padding split is Go's quirk)
                // read back unchanged.
                byte[] again = m.marshal();
                if (!(m instanceof Ping)) assertThat(Disco.parse(again)).isEqualTo(m);
            } catch (DiscoException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
            byte[] packet = new byte[Disco.HEADER_LEN + in.length];
            System.arraycopy(Disco.MAGIC, 0, packet, 0, 6);
            System.arraycopy(in, 0, packet, Disco.HEADER_LEN, in.length);
            assertThatThrownBy(() -> Disco.open(packet, key)).isInstanceOf(DiscoException.class);
        }
        assertThat(parsed).isPositive();
    }

    static DiscoMessage randomMessage(Random r) throws Exception {
        return switch (r.nextInt(9)) {
            // Keyless pings round trip only unpadded (see keylessPaddedPingReadsBackAsGoDoes).
            case 0 -> r.nextBoolean() ? new Ping(tx(r), null)
                    : new Ping(tx(r), new NodePrivateKey(bytes(r, 32)).publicKey(), r.nextInt(3) == 0 ? r.nextInt(1400) : 0);
            case 1 -> new Pong(tx(r), addr(r));
            case 2 -> new CallMeMaybe(addrs(r, 0));
            case 3 -> new BindUdpRelayEndpoint(common(r));
            case 4 -> new BindUdpRelayEndpointChallenge(common(r));
            case 5 -> new BindUdpRelayEndpointAnswer(common(r));
            case 6 -> new CallMeMaybeVia(endpoint(r));
            case 7 -> new AllocateUdpRelayEndpointRequest(dk(r), dk(r), r.nextInt());
            default -> new AllocateUdpRelayEndpointResponse(r.nextInt(), endpoint(r));
        };
    }

    private static TxId tx(Random r) {
        return new TxId(bytes(r, 12));
    }

    private static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private static DiscoPublicKey dk(Random r) {
        return new DiscoPublicKey(bytes(r, 32));
    }

    private static BindCommon common(Random r) {
        return new BindCommon(r.nextInt(), r.nextInt(), dk(r), bytes(r, 32));
    }

    /** Peer-relay endpoints need at least one address to parse back, as in Go. */
    private static UdpRelayEndpoint endpoint(Random r) throws Exception {
        return new UdpRelayEndpoint(dk(r), dk(r), dk(r), r.nextLong(), r.nextInt(), Duration.ofNanos(r.nextLong()),
                Duration.ofNanos(r.nextLong()), addrs(r, 1));
    }

    private static List<InetSocketAddress> addrs(Random r, int min) throws Exception {
        int n = min + r.nextInt(5);
        var out = new java.util.ArrayList<InetSocketAddress>();
        for (int i = 0; i < n; i++) out.add(addr(r));
        return out;
    }

    private static InetSocketAddress addr(Random r) throws Exception {
        return new InetSocketAddress(InetAddress.getByAddress(bytes(r, r.nextBoolean() ? 4 : 16)), r.nextInt(65536));
    }
}
