package dev.lattice.wireguard.uapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Writing {@code get=1} replies exactly as wireguard-go's {@code IpcGetOperation} does, and reading them back. */
class UapiCodecGetTest {
    static final String ZERO = "0".repeat(64);
    static final NodePrivateKey DEVICE_KEY = new NodePrivateKey(HexFormat.of().parseHex("10".repeat(31) + "50"));
    static final NodePublicKey A = new NodePublicKey(HexFormat.of().parseHex("aa".repeat(32)));
    static final NodePublicKey B = new NodePublicKey(HexFormat.of().parseHex("bb".repeat(32)));
    static final PresharedKey PSK = new PresharedKey(HexFormat.of().parseHex("cc".repeat(32)));

    static DeviceState twoPeers() {
        return new DeviceState(DEVICE_KEY, 51820, 0x2a, List.of(
                new PeerState(A, PSK, Netip.parseAddrPort("127.0.0.1:1234"), 1_700_000_000_123_456_789L, 300, 200, 25,
                        List.of(Netip.parsePrefix("10.0.0.0/24"), Netip.parsePrefix("fd00::/64"))),
                new PeerState(B, null, Netip.parseAddrPort("[2001:db8::1]:51820"), 0, -1, Long.MIN_VALUE, 0,
                        List.of(Netip.parsePrefix("::ffff:1.2.3.0/120")))));
    }

    @Test
    void aDeviceWithSeveralPeersIsWrittenKeyForKeyInWireguardGosOrder() {
        assertThat(UapiCodec.formatGet(twoPeers())).isEqualTo("""
                private_key=%s
                listen_port=51820
                fwmark=42
                public_key=%s
                preshared_key=%s
                protocol_version=1
                endpoint=127.0.0.1:1234
                last_handshake_time_sec=1700000000
                last_handshake_time_nsec=123456789
                tx_bytes=200
                rx_bytes=300
                persistent_keepalive_interval=25
                allowed_ip=10.0.0.0/24
                allowed_ip=fd00::/64
                public_key=%s
                preshared_key=%s
                protocol_version=1
                endpoint=[2001:db8::1]:51820
                last_handshake_time_sec=0
                last_handshake_time_nsec=0
                tx_bytes=9223372036854775808
                rx_bytes=18446744073709551615
                persistent_keepalive_interval=0
                allowed_ip=::ffff:1.2.3.0/120
                """.formatted("10".repeat(31) + "50", "aa".repeat(32), "cc".repeat(32), "bb".repeat(32), ZERO));
    }

    @Test
    void anEmptyDeviceWritesNothing() {
        assertThat(UapiCodec.formatGet(new DeviceState(null, 0, 0, List.of()))).isEmpty();
    }

    @Test
    void privateKeyListenPortAndFwmarkAppearOnlyWhenSet() {
        assertThat(UapiCodec.formatGet(new DeviceState(new NodePrivateKey(new byte[32]), 0, 0, List.of()))).isEmpty();
        assertThat(UapiCodec.formatGet(new DeviceState(null, 1, 0, List.of()))).isEqualTo("listen_port=1\n");
        assertThat(UapiCodec.formatGet(new DeviceState(null, 0, -1, List.of()))).isEqualTo("fwmark=4294967295\n");
    }

    @Test
    void aPeerWithoutEndpointOrAllowedIpsStillHasEveryOtherKey() {
        String text = UapiCodec.formatGet(new DeviceState(null, 0, 0,
                List.of(new PeerState(A, PresharedKey.NONE, null, 0, 0, 0, 0, List.of()))));
        assertThat(text.lines().map(l -> l.substring(0, l.indexOf('=')))).containsExactly(
                "public_key", "preshared_key", "protocol_version", "last_handshake_time_sec",
                "last_handshake_time_nsec", "tx_bytes", "rx_bytes", "persistent_keepalive_interval");
    }

    @Test
    void roundTripOfSeveralPeers() throws UapiException {
        DeviceState s = twoPeers();
        DeviceState back = UapiCodec.parseGet(UapiCodec.formatGet(s) + "errno=0\n\n");
        assertThat(back).isEqualTo(s);
        assertThat(UapiCodec.formatGet(back)).isEqualTo(UapiCodec.formatGet(s));
    }

    @Test
    void readsWireguardGosReplyAsCapturedFromVersion0_0_20220316() throws UapiException {
        String reply = """
                private_key=f8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f
                listen_port=4244
                fwmark=4294967295
                public_key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                preshared_key=0000000000000000000000000000000000000000000000000000000000000000
                protocol_version=1
                endpoint=[::ffff:1.2.3.4]:80
                last_handshake_time_sec=0
                last_handshake_time_nsec=0
                tx_bytes=0
                rx_bytes=0
                persistent_keepalive_interval=65535
                allowed_ip=10.0.0.0/8
                allowed_ip=10.0.0.0/24
                allowed_ip=::ffff:1.2.3.0/120
                allowed_ip=1:0:0:2::/64
                errno=0

                """;
        DeviceState s = UapiCodec.parseGet(reply);
        assertThat(s.peers()).hasSize(1);
        assertThat(s.fwmark()).isEqualTo(-1);
        assertThat(UapiCodec.formatGet(s) + "errno=0\n\n").isEqualTo(reply);
    }

    @Test
    void aFailedGetReplyIsThrownWithItsErrno() {
        assertThatThrownBy(() -> UapiCodec.parseGet("errno=-55\n\n"))
                .isInstanceOfSatisfying(UapiException.class, e -> assertThat(e.errno()).isEqualTo(-55));
        assertThatThrownBy(() -> UapiCodec.parseGet("errno=-98\n\n"))
                .isInstanceOfSatisfying(UapiException.class, e -> assertThat(e.error()).isEqualTo(UapiError.PORT_IN_USE));
    }

    @Test
    void unknownKeysAreSkippedAsTheWgToolDoes() throws UapiException {
        assertThat(UapiCodec.parseGet("listen_port=1\nfuture_key=x\npublic_key=" + "aa".repeat(32)
                + "\nprotocol_version=7\nanother=1\n").peers()).hasSize(1);
    }

    @Test
    void aMalformedReplyIsAProtocolError() {
        for (String bad : List.of("listen_port\n", "listen_port=x\n", "public_key=zz\n",
                "public_key=" + "aa".repeat(32) + "\nallowed_ip=10.0.0.0\n",
                "public_key=" + "aa".repeat(32) + "\nlast_handshake_time_sec=9223372036854775807\n",
                "public_key=" + "aa".repeat(32) + "\nrx_bytes=18446744073709551616\n", "errno=x\n")) {
            assertThatThrownBy(() -> UapiCodec.parseGet(bad)).as(bad)
                    .isInstanceOfSatisfying(UapiException.class,
                            e -> assertThat(e.error()).isEqualTo(UapiError.PROTOCOL));
        }
    }

    @Test
    void stateToStringsRedactSecrets() {
        String s = twoPeers().toString();
        assertThat(s).doesNotContain("10101010", "cccccccc").contains("privateKey=set", "presharedKey=set");
    }
}
