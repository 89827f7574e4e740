package dev.lattice.wire.stun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class StunTest {
    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    /** Captured responses from tailscale's net/stun/stun_test.go (real servers and padding cases). */
    static Stream<Arguments> capturedResponses() {
        return Stream.of(
                Arguments.of("google-1", "0101000c2112a4422360b11e3ec68ffa93e0800700200008" + "0001c7866957856f",
                        "2360b11e3ec68ffa93e08007", "72.69.33.45", 59028),
                Arguments.of("google-2", "0101000c2112a442f9f121cbde7d7c75923ce27100200008" + "0001c7876957856f",
                        "f9f121cbde7d7c75923ce271", "72.69.33.45", 59029),
                Arguments.of("stun-sipgate-net-10000",
                        "010100442112a442482eb64715e8b28eaead644400010008" + "0001e4ab48452 12d".replace(" ", "")
                                + "000400080001 2710d90a4498 00050008 00012711d9747a8a".replace(" ", "")
                                + "80200008 0001c5b96957856f 80220010 566f766964612e6f72672030 2e393600".replace(" ", ""),
                        "482eb64715e8b28eaead6444", "72.69.33.45", 58539),
                Arguments.of("stun-powervoip-com-3478",
                        "010100242112a4427e57966829f444609d1deaa6000100080001e9d34845212d"
                                + "0004000800010d964d48a9d4000500080001 0d974d48a9d5".replace(" ", ""),
                        "7e57966829f444609d1deaa6", "72.69.33.45", 59859),
                Arguments.of("in-process-pion-server",
                        "010100242112a442ebc2d36ef471217c4f3e308e8022000a656e64706f696e7465720000"
                                + "002000080001ce665e12a44380280004b699bb02010100242112a442",
                        "ebc2d36ef471217c4f3e308e", "127.0.0.1", 61300),
                Arguments.of("stuntman-server-ipv6",
                        "010100482112a44206f56685d28af3e69ce341e2000100140002 90ce260200d1b4cfc10038b231fffeef96f6".replace(" ", "")
                                + "802b001400020d962604a880000200d10000000000c57001"
                                + "002000140002b1dc0710a493b23aa785ea38c219620cd714",
                        "06f56685d28af3e69ce341e2", "2602:d1:b4cf:c100:38b2:31ff:feef:96f6", 37070),
                Arguments.of("software-a",
                        "010100142112a442ebc2d36ef471217c4f3e308e80220001610000000020000800 01ce665e12a443".replace(" ", ""),
                        "ebc2d36ef471217c4f3e308e", "127.0.0.1", 61300),
                Arguments.of("software-abc",
                        "010100142112a442ebc2d36ef471217c4f3e308e80220003616263000020000800 01ce665e12a443".replace(" ", ""),
                        "ebc2d36ef471217c4f3e308e", "127.0.0.1", 61300),
                Arguments.of("no-4in6", "010100182112a4424fd5d202dcb37d31fc773306002000140002cd3d2112a4424fd5d202dcb382ce2dc3fcc7",
                        "4fd5d202dcb37d31fc773306", "209.180.207.193", 60463));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("capturedResponses")
    void parsesCapturedResponses(String name, String data, String tx, String ip, int port) throws Exception {
        byte[] b = hex(data);
        Stun.BindingResponse r = Stun.parseResponse(b, b.length);
        assertThat(r.txId()).isEqualTo(new Stun.TxId(hex(tx)));
        assertThat(r.mapped().getAddress()).isEqualTo(InetAddress.getByName(ip));
        assertThat(r.mapped().getPort()).isEqualTo(port);
    }

    @Test
    void requestIsByteForByteGos() {
        // stun.Request(TxID{1..12}) from tailscale v1.102.3.
        byte[] req = Stun.request(new Stun.TxId(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
        assertThat(req).isEqualTo(hex("000100142112a4420102030405060708090a0b0c802200087461696c6e6f646580280004b32c370f"));
        Stun.TxId tx = Stun.TxId.random();
        assertThat(Stun.parseTailscaleRequest(Stun.request(tx), 40)).isEqualTo(tx);
    }

    @Test
    void isChecksCookieLengthAndTopBits() {
        String cookie = "2112a442";
        assertThat(Stun.is(new byte[0], 0)).isFalse();
        assertThat(Stun.is(new byte[20], 20)).isFalse();
        assertThat(Stun.is(hex("00000000" + cookie + "00".repeat(11)), 19)).isFalse();
        assertThat(Stun.is(hex("00000000" + cookie + "00".repeat(12)), 20)).isTrue();
        assertThat(Stun.is(hex("f0000000" + cookie + "00".repeat(12)), 20)).isFalse();
        assertThat(Stun.is(hex("40000000" + cookie + "00".repeat(12)), 20)).isFalse();
        assertThat(Stun.is(hex("20000000" + cookie + "00".repeat(12)), 20)).isTrue();
    }

    @Test
    void responsesRoundTripLikeGosTestResponse() throws Exception {
        for (String ip : new String[] {"1.2.3.4", "1::4"}) {
            for (int port : new int[] {254, 257, 65535}) {
                Stun.TxId tx = Stun.TxId.random();
                var addr = new InetSocketAddress(InetAddress.getByName(ip), port);
                byte[] res = Stun.response(tx, addr);
                Stun.BindingResponse r = Stun.parseResponse(res, res.length);
                assertThat(r.txId()).isEqualTo(tx);
                assertThat(r.mapped()).isEqualTo(addr);
            }
        }
        // The exact layout: 0101 000c cookie txid | 0020 0008 00 01 port^2112 ip^cookie
        byte[] res = Stun.response(new Stun.TxId(new byte[12]), new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 61300));
        assertThat(res).isEqualTo(hex("0101000c2112a442000000000000000000000000002000080001ce665e12a443"));
    }

    @Test
    void serverSideAcceptsOtherRfc5389AndClassicRequests() {
        // RFC 5389 request without attributes (as coturn's and many libraries' clients send).
        byte[] plain = hex("000100002112a442" + "0102030405060708090a0b0c");
        assertThat(Stun.parseBindingRequest(plain, plain.length).dialect()).isEqualTo(Stun.Dialect.RFC5389);
        assertThatThrownBy(() -> Stun.parseTailscaleRequest(plain, plain.length)).hasMessageContaining("non-Tailscale");
        // Debian stun-client 0.97 (RFC 3489), as captured: CHANGE-REQUEST with no flags.
        byte[] classic = hex("00010008015416360340740718cd1f1c7a290c4e0003000400000000");
        Stun.BindingRequest c = Stun.parseBindingRequest(classic, classic.length);
        assertThat(c.dialect()).isEqualTo(Stun.Dialect.RFC3489);
        assertThat(c.changeRequested()).isFalse();
        byte[] res = Stun.response(c.txId(), new InetSocketAddress(InetAddress.getLoopbackAddress(), 1234));
        assertThat(res).isEqualTo(hex("0101000c015416360340740718cd1f1c7a290c4e" + "0001000800010 4d27f000001".replace(" ", "")));
        classic[classic.length - 1] = 4; // change IP
        assertThat(Stun.parseBindingRequest(classic, classic.length).changeRequested()).isTrue();
    }

    @Test
    void badRequestsAreRefusedWithReasons() {
        byte[] req = Stun.request(Stun.TxId.random());
        byte[] badFp = req.clone();
        badFp[badFp.length - 1] ^= 1;
        assertThatThrownBy(() -> Stun.parseBindingRequest(badFp, badFp.length)).hasMessageContaining("fingerprint");
        byte[] response = Stun.response(Stun.TxId.random(), new InetSocketAddress(InetAddress.getLoopbackAddress(), 1));
        assertThatThrownBy(() -> Stun.parseBindingRequest(response, response.length)).hasMessageContaining("not a binding request");
        byte[] truncated = java.util.Arrays.copyOf(req, 30);
        assertThatThrownBy(() -> Stun.parseBindingRequest(truncated, truncated.length)).hasMessageContaining("bad length");
        assertThatThrownBy(() -> Stun.parseResponse(req, req.length)).hasMessageContaining("not a success response");
    }

    static Stream<Long> seeds() {
        return IntStream.range(0, 30).mapToObj(i -> 0x57E7L * 17 + i);
    }

    /** Random and mutated datagrams: parsed or refused with StunException, nothing else. */
    @ParameterizedTest
    @MethodSource("seeds")
    void randomDatagramsNeverCrashTheParsers(long seed) throws Exception {
        Random r = new Random(seed);
        byte[] goodReq = Stun.request(Stun.TxId.random());
        byte[] goodRes = Stun.response(Stun.TxId.random(), new InetSocketAddress(InetAddress.getByName("::1"), 9));
        for (int i = 0; i < 1000; i++) {
            byte[] b;
            switch (r.nextInt(3)) {
                case 0 -> {
                    b = new byte[r.nextInt(80)];
                    r.nextBytes(b);
                    if (b.length >= 8 && r.nextBoolean()) {
                        b[0] &= 0x3f;
                        b[4] = 0x21; b[5] = 0x12; b[6] = (byte) 0xa4; b[7] = 0x42;
                    }
                }
                case 1 -> b = mutate(goodReq, r);
                default -> b = mutate(goodRes, r);
            }
            try {
                Stun.parseBindingRequest(b, b.length);
            } catch (StunException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
            try {
                Stun.parseResponse(b, b.length);
            } catch (StunException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
        }
    }

    private static byte[] mutate(byte[] good, Random r) {
        byte[] b = java.util.Arrays.copyOf(good, r.nextInt(good.length + 8));
        for (int k = r.nextInt(4); k >= 0 && b.length > 0; k--) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
        return b;
    }
}
