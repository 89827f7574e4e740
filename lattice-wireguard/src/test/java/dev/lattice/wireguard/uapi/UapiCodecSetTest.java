package dev.lattice.wireguard.uapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import dev.lattice.wire.ip.IpPrefix;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Reading {@code set=1} transactions, as wireguard-go's {@code IpcSetOperation} reads them. */
class UapiCodecSetTest {
    static final String ZERO = "0000000000000000000000000000000000000000000000000000000000000000";
    static final NodePublicKey PEER_A = NodePrivateKey.generate().publicKey();
    static final NodePublicKey PEER_B = NodePrivateKey.generate().publicKey();

    static UapiSet parse(String... lines) throws UapiException {
        return UapiCodec.parseSet(List.of(lines));
    }

    static UapiException failure(ThrowingCallable call) {
        try {
            call.call();
        } catch (UapiException e) {
            return e;
        } catch (Throwable t) {
            throw new AssertionError("expected UapiException, got " + t, t);
        }
        throw new AssertionError("expected UapiException, but parsing succeeded");
    }

    static void assertRejected(UapiError error, String messagePart, String... lines) {
        UapiException e = failure(() -> parse(lines));
        assertThat(e.error()).as(e.getMessage()).isEqualTo(error);
        assertThat(e.errno()).isEqualTo(error.errno());
        assertThat(e.getMessage()).contains(messagePart);
    }

    static IpPrefix prefix(String s) {
        return Netip.parsePrefix(s);
    }

    @Test
    void anEmptyTransactionChangesNothing() throws UapiException {
        assertThat(parse()).isEqualTo(UapiSet.EMPTY);
        assertThat(parse("")).isEqualTo(UapiSet.EMPTY);
        assertThat(UapiSet.EMPTY.isEmpty()).isTrue();
    }

    @Test
    void theBlankLineEndsTheTransactionAndLaterLinesAreNotRead() throws UapiException {
        UapiSet set = parse("listen_port=1", "", "listen_port=2", "garbage without equals");
        assertThat(set.listenPort()).isEqualTo(1);
    }

    @Test
    void aTrailingCarriageReturnIsDroppedAsGosScannerDoes() throws UapiException {
        assertThat(parse("listen_port=7\r").listenPort()).isEqualTo(7);
        assertThat(parse("listen_port=7", "\r", "listen_port=8")).isEqualTo(parse("listen_port=7"));
    }

    @Test
    void errnoNumbersAreWireguardGos() {
        assertThat(UapiError.IO.errno()).isEqualTo(-5);
        assertThat(UapiError.PROTOCOL.errno()).isEqualTo(-71);
        assertThat(UapiError.INVALID.errno()).isEqualTo(-22);
        assertThat(UapiError.PORT_IN_USE.errno()).isEqualTo(-98);
        assertThat(UapiError.UNKNOWN.errno()).isEqualTo(-55);
    }

    @Test
    void aLineWithoutEqualsIsAProtocolError() {
        assertRejected(UapiError.PROTOCOL, "line 2: failed to parse line \"nokey\"", "listen_port=1", "nokey");
    }

    @Nested
    class DeviceKeys {

        @Test
        void privateKeyIsClampedLikeWireguardGoDoes() throws UapiException {
            UapiSet set = parse("private_key=" + "f".repeat(64));
            assertThat(set.privateKey()).isInstanceOfSatisfying(PrivateKeyChange.Replace.class,
                    r -> assertThat(r.key().toHex()).isEqualTo("f8" + "f".repeat(60) + "7f"));
        }

        @Test
        void privateKeyHexMayBeUppercase() throws UapiException {
            NodePrivateKey k = NodePrivateKey.generate();
            assertThat(parse("private_key=" + k.toHex().toUpperCase()).privateKey())
                    .isEqualTo(new PrivateKeyChange.Replace(k));
        }

        @Test
        void anAllZeroPrivateKeyClearsIt() throws UapiException {
            assertThat(parse("private_key=" + ZERO).privateKey()).isEqualTo(PrivateKeyChange.CLEAR);
        }

        @ParameterizedTest(name = "private_key=\"{0}\" is rejected")
        @ValueSource(strings = {"", "00", "0000000000000000000000000000000000000000000000000000000000000000ff",
                "g000000000000000000000000000000000000000000000000000000000000000",
                "000000000000000000000000000000000000000000000000000000000000000"})
        void aMalformedPrivateKeyIsInvalid(String value) {
            assertRejected(UapiError.INVALID, "invalid private_key: want 64 hex digits", "private_key=" + value);
        }

        @Test
        void errorMessagesNeverContainKeyMaterial() {
            String secret = NodePrivateKey.generate().toHex();
            for (String line : List.of("private_key=" + secret + "0", "private_key=" + secret.substring(1) + "x")) {
                assertThat(failure(() -> parse(line)).getMessage()).doesNotContain(secret.substring(1, 40));
            }
            String psk = secret.substring(0, 63) + "z";
            UapiException e = failure(() -> parse("public_key=" + PEER_A.toHex(), "preshared_key=" + psk));
            assertThat(e.getMessage()).contains("preshared_key").doesNotContain(psk.substring(0, 40));
        }

        @Test
        void listenPortIsAnUnsigned16BitDecimal() throws UapiException {
            assertThat(parse("listen_port=0").listenPort()).isZero();
            assertThat(parse("listen_port=51820").listenPort()).isEqualTo(51820);
            assertThat(parse("listen_port=065535").listenPort()).isEqualTo(65535);
        }

        @ParameterizedTest(name = "listen_port=\"{0}\" is rejected")
        @ValueSource(strings = {"", "65536", "+1", "-1", "0x10", "1_000", " 1", "1 ", "99999999999999999999999"})
        void aBadListenPortIsInvalid(String value) {
            assertRejected(UapiError.INVALID, "failed to parse listen_port", "listen_port=" + value);
        }

        @Test
        void fwmarkIsAnUnsigned32BitDecimalHeldInAnInt() throws UapiException {
            assertThat(parse("fwmark=0").fwmark()).isZero();
            assertThat(parse("fwmark=42").fwmark()).isEqualTo(42);
            assertThat(parse("fwmark=4294967295").fwmark()).isEqualTo(-1);
            assertRejected(UapiError.INVALID, "invalid fwmark", "fwmark=4294967296");
            assertRejected(UapiError.INVALID, "invalid fwmark", "fwmark=0x10");
        }

        @Test
        void replacePeersAcceptsOnlyTrue() throws UapiException {
            assertThat(parse("replace_peers=true").replacePeers()).isTrue();
            assertRejected(UapiError.INVALID, "replace_peers", "replace_peers=false");
            assertRejected(UapiError.INVALID, "replace_peers", "replace_peers=TRUE");
        }

        @Test
        void theLastOfARepeatedDeviceKeyWins() throws UapiException {
            UapiSet set = parse("listen_port=1", "fwmark=1", "listen_port=2", "private_key=" + ZERO, "fwmark=3");
            assertThat(set).isEqualTo(new UapiSet(PrivateKeyChange.CLEAR, 2, 3, false, List.of()));
        }

        @ParameterizedTest(name = "{0} before any public_key is not a device key")
        @ValueSource(strings = {"protocol_version=1", "update_only=true", "remove=true", "endpoint=1.2.3.4:5",
                "allowed_ip=10.0.0.0/8", "persistent_keepalive_interval=1", "preshared_key=" + ZERO,
                "get=1", "=", "=x", "Listen_port=1"})
        void peerKeysAndUnknownKeysAreInvalidInTheDeviceSection(String line) {
            assertRejected(UapiError.INVALID, "invalid UAPI device key", line);
        }
    }

    @Nested
    class PeerKeys {
        final String pk = "public_key=" + PEER_A.toHex();

        @Test
        void aPublicKeyAloneCreatesOrKeepsThePeer() throws UapiException {
            assertThat(parse(pk).peers()).containsExactly(PeerChange.of(PEER_A));
        }

        @Test
        void publicKeyHexMayBeUppercaseAndAllZero() throws UapiException {
            assertThat(parse("public_key=" + PEER_A.toHex().toUpperCase()).peers())
                    .containsExactly(PeerChange.of(PEER_A));
            assertThat(parse("public_key=" + ZERO).peers().getFirst().publicKey().isZero()).isTrue();
        }

        @Test
        void aMalformedPublicKeyIsInvalid() {
            assertRejected(UapiError.INVALID, "line 1: invalid public_key", "public_key=abc");
        }

        @Test
        void everyPeerKey() throws UapiException {
            PresharedKey psk = new PresharedKey(HexFormat.of().parseHex("11".repeat(32)));
            UapiSet set = parse(pk,
                    "update_only=true",
                    "preshared_key=" + "11".repeat(32),
                    "protocol_version=1",
                    "endpoint=[2001:db8::1]:51820",
                    "persistent_keepalive_interval=25",
                    "replace_allowed_ips=true",
                    "allowed_ip=10.0.0.0/24",
                    "allowed_ip=fd00::/64",
                    "allowed_ip=-192.168.0.0/16");
            assertThat(set.peers()).containsExactly(new PeerChange(PEER_A, true, false, psk,
                    new InetSocketAddress(Netip.parseAddrPort("[2001:db8::1]:51820").getAddress(), 51820), 25, true,
                    List.of(new AllowedIpChange.Add(prefix("10.0.0.0/24")), new AllowedIpChange.Add(prefix("fd00::/64")),
                            new AllowedIpChange.Remove(prefix("192.168.0.0/16")))));
        }

        @Test
        void anAllZeroPresharedKeyRemovesIt() throws UapiException {
            assertThat(parse(pk, "preshared_key=" + ZERO).peers().getFirst().presharedKey())
                    .isEqualTo(PresharedKey.NONE);
        }

        @Test
        void ipv4AndIpv6Endpoints() throws UapiException {
            assertThat(parse(pk, "endpoint=127.0.0.1:1234").peers().getFirst().endpoint())
                    .isEqualTo(new InetSocketAddress(Netip.toInetAddress(new byte[] {127, 0, 0, 1}, -1), 1234));
            InetSocketAddress v6 = parse(pk, "endpoint=[::1]:51820").peers().getFirst().endpoint();
            assertThat(Netip.formatEndpoint(v6)).isEqualTo("[::1]:51820");
        }

        @ParameterizedTest(name = "endpoint=\"{0}\" is rejected")
        @ValueSource(strings = {"", "1.2.3.4", "[1.2.3.4]:80", "::1:80", "example.com:51820", "1.2.3.4:65536",
                "[fe80::1%nosuchif0]:51820"})
        void aBadEndpointIsInvalidAndNamesThePeer(String value) {
            String b64 = PEER_A.toBase64();
            assertRejected(UapiError.INVALID,
                    "line 2: invalid endpoint " + Netip.quote(value) + " for peer(" + b64.substring(0, 4) + "…"
                            + b64.substring(39, 43) + ")",
                    pk, "endpoint=" + value);
        }

        @Test
        void persistentKeepaliveIsAnUnsigned16BitDecimal() throws UapiException {
            assertThat(parse(pk, "persistent_keepalive_interval=0").peers().getFirst().persistentKeepaliveSeconds())
                    .isZero();
            assertThat(parse(pk, "persistent_keepalive_interval=65535").peers().getFirst()
                    .persistentKeepaliveSeconds()).isEqualTo(65535);
            assertRejected(UapiError.INVALID, "persistent_keepalive_interval", pk,
                    "persistent_keepalive_interval=65536");
            assertRejected(UapiError.INVALID, "persistent_keepalive_interval", pk,
                    "persistent_keepalive_interval=-1");
        }

        @ParameterizedTest(name = "allowed_ip=\"{0}\" is rejected")
        @ValueSource(strings = {"", "-", "10.0.0.0", "10.0.0.0/33", "10.0.0.0/08", "fe80::%1/64", "--10.0.0.0/8",
                "+10.0.0.0/8", "10.0.0/8"})
        void aBadAllowedIpIsInvalid(String value) {
            assertRejected(UapiError.INVALID, "invalid allowed_ip", pk, "allowed_ip=" + value);
        }

        @Test
        void allowedIpsAreMasked() throws UapiException {
            assertThat(parse(pk, "allowed_ip=10.1.2.3/8").peers().getFirst().allowedIps())
                    .containsExactly(new AllowedIpChange.Add(prefix("10.0.0.0/8")));
        }

        @Test
        void onlyProtocolVersionOneExists() throws UapiException {
            assertThat(parse(pk, "protocol_version=1").peers()).containsExactly(PeerChange.of(PEER_A));
            assertRejected(UapiError.INVALID, "invalid protocol version \"2\"", pk, "protocol_version=2");
            assertRejected(UapiError.INVALID, "invalid protocol version", pk, "protocol_version=01");
        }

        @ParameterizedTest(name = "{0}=yes is rejected")
        @ValueSource(strings = {"update_only", "remove", "replace_allowed_ips"})
        void flagsAcceptOnlyTrue(String key) {
            assertRejected(UapiError.INVALID, key, pk, key + "=yes");
        }

        @ParameterizedTest(name = "{0} after public_key is not a peer key")
        @ValueSource(strings = {"listen_port=1", "private_key=" + ZERO, "fwmark=1", "replace_peers=true",
                "allowed_ips=10.0.0.0/8", "keepalive=1"})
        void deviceKeysAndUnknownKeysAreInvalidInAPeerBlock(String line) {
            assertRejected(UapiError.INVALID, "invalid UAPI peer key", pk, line);
        }
    }

    @Nested
    class Order {
        final String a = "public_key=" + PEER_A.toHex();
        final String b = "public_key=" + PEER_B.toHex();

        @Test
        void peerBlocksKeepTheirOrderAndAPeerMayAppearTwice() throws UapiException {
            UapiSet set = parse(a, "persistent_keepalive_interval=1", b, a, "persistent_keepalive_interval=2");
            assertThat(set.peers()).extracting(PeerChange::publicKey).containsExactly(PEER_A, PEER_B, PEER_A);
            assertThat(set.peers()).extracting(PeerChange::persistentKeepaliveSeconds).containsExactly(1, null, 2);
        }

        @Test
        void allowedIpAdditionsAndRemovalsKeepTheirOrder() throws UapiException {
            assertThat(parse(a, "allowed_ip=10.0.0.0/8", "allowed_ip=-10.0.0.0/8", "allowed_ip=fd00::/8")
                    .peers().getFirst().allowedIps()).containsExactly(
                    new AllowedIpChange.Add(prefix("10.0.0.0/8")),
                    new AllowedIpChange.Remove(prefix("10.0.0.0/8")),
                    new AllowedIpChange.Add(prefix("fd00::/8")));
        }

        @Test
        void replaceAllowedIpsDropsTheAllowedIpsBeforeItInTheSameBlock() throws UapiException {
            PeerChange p = parse(a, "allowed_ip=10.0.0.0/8", "replace_allowed_ips=true", "allowed_ip=10.1.0.0/16")
                    .peers().getFirst();
            assertThat(p.replaceAllowedIps()).isTrue();
            assertThat(p.allowedIps()).containsExactly(new AllowedIpChange.Add(prefix("10.1.0.0/16")));
        }

        @Test
        void removeMakesTheBlockARemovalWhateverCameBeforeOrAfter() throws UapiException {
            UapiSet set = parse(a, "endpoint=1.2.3.4:5", "allowed_ip=10.0.0.0/8", "remove=true",
                    "endpoint=5.6.7.8:9", "allowed_ip=10.1.0.0/16", "update_only=true", "replace_allowed_ips=true",
                    b);
            assertThat(set.peers()).containsExactly(PeerChange.removal(PEER_A), PeerChange.of(PEER_B));
        }

        @Test
        void linesAfterRemoveAreStillValidated() {
            assertRejected(UapiError.INVALID, "invalid allowed_ip", a, "remove=true", "allowed_ip=nonsense");
            assertRejected(UapiError.INVALID, "invalid UAPI peer key", a, "remove=true", "listen_port=1");
        }

        @Test
        void removedThenReAddedInOneTransaction() throws UapiException {
            UapiSet set = parse(a, "remove=true", a, "endpoint=1.2.3.4:5");
            assertThat(set.peers()).extracting(PeerChange::remove).containsExactly(true, false);
        }

        @Test
        void updateOnlyAppliesToTheWholeBlockWhereverItIs() throws UapiException {
            assertThat(parse(a, "endpoint=1.2.3.4:5", "update_only=true")).isEqualTo(parse(a, "update_only=true",
                    "endpoint=1.2.3.4:5"));
            assertThat(parse(a, "update_only=true").peers().getFirst().updateOnly()).isTrue();
        }

        @Test
        void deviceKeysAfterTheFirstPeerAreRejected() {
            assertRejected(UapiError.INVALID, "line 3: invalid UAPI peer key: \"listen_port\"", "fwmark=1", a,
                    "listen_port=1");
        }
    }

    @Nested
    class PartialTransactions {

        @Test
        void aBadLineKeepsEverythingBeforeItAsWireguardGoHasAlreadyAppliedIt() throws UapiException {
            SetParser parser = new SetParser();
            parser.accept("listen_port=1234");
            parser.accept("public_key=" + PEER_A.toHex());
            parser.accept("allowed_ip=10.0.0.0/8");
            assertThatThrownBy(() -> parser.accept("endpoint=nonsense")).isInstanceOf(UapiException.class);
            assertThat(parser.result()).isEqualTo(new UapiSet(null, 1234, null, false, List.of(
                    new PeerChange(PEER_A, false, false, null, null, null, false,
                            List.of(new AllowedIpChange.Add(prefix("10.0.0.0/8")))))));
        }

        @Test
        void aBadPublicKeyLineDoesNotEndThePreviousBlock() throws UapiException {
            SetParser parser = new SetParser();
            parser.accept("public_key=" + PEER_A.toHex());
            assertThatThrownBy(() -> parser.accept("public_key=xyz")).isInstanceOf(UapiException.class);
            assertThat(parser.result().peers()).containsExactly(PeerChange.of(PEER_A));
        }
    }

    @Test
    void formatSetWritesWhatParseSetReadsBack() throws UapiException {
        NodePrivateKey sk = NodePrivateKey.generate();
        UapiSet set = new UapiSet(new PrivateKeyChange.Replace(sk), 51820, -1, true, List.of(
                new PeerChange(PEER_A, false, false, PresharedKey.NONE,
                        Netip.parseAddrPort("[::ffff:10.0.0.1]:1"), 0, true,
                        List.of(new AllowedIpChange.Add(prefix("::ffff:10.0.0.0/104")),
                                new AllowedIpChange.Remove(prefix("10.0.0.0/8")))),
                PeerChange.removal(PEER_B),
                new PeerChange(PEER_B, true, false, null, null, null, false, List.of())));
        String text = UapiCodec.formatSet(set);
        assertThat(text).isEqualTo("""
                private_key=%s
                listen_port=51820
                fwmark=4294967295
                replace_peers=true
                public_key=%s
                preshared_key=%s
                endpoint=[::ffff:10.0.0.1]:1
                persistent_keepalive_interval=0
                replace_allowed_ips=true
                allowed_ip=::ffff:10.0.0.0/104
                allowed_ip=-10.0.0.0/8
                public_key=%s
                remove=true
                public_key=%s
                update_only=true
                """.formatted(sk.toHex(), PEER_A.toHex(), ZERO, PEER_B.toHex(), PEER_B.toHex()));
        assertThat(UapiCodec.parseSet(text.lines().toList())).isEqualTo(set);
        assertThat(UapiCodec.formatSet(new UapiSet(PrivateKeyChange.CLEAR, null, null, false, List.of())))
                .isEqualTo("private_key=" + ZERO + "\n");
    }

    @Test
    void toStringsRedactSecrets() throws UapiException {
        NodePrivateKey sk = NodePrivateKey.generate();
        String psk = "ab".repeat(32);
        UapiSet set = parse("private_key=" + sk.toHex(), "public_key=" + PEER_A.toHex(), "preshared_key=" + psk);
        assertThat(set.toString()).contains("privateKey=set", "presharedKey=set")
                .doesNotContain(sk.toHex().substring(2, 40), psk.substring(0, 40));
    }
}
