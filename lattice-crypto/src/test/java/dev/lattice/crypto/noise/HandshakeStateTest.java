package dev.lattice.crypto.noise;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.AeadException;
import dev.lattice.crypto.Blake2s;
import dev.lattice.crypto.ChaChaPoly;
import dev.lattice.crypto.CryptoException;
import dev.lattice.crypto.X25519;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The handshake as WireGuard and ts2021 drive it, and how it fails. */
class HandshakeStateTest {
    private static final byte[] WG_PROLOGUE = "WireGuard v1 zx2c4 Jason@zx2c4.com".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TS_PROLOGUE = "Tailscale Control Protocol v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ZERO_PSK = new byte[32];

    private final byte[] iPriv = X25519.newPrivateKey();
    private final byte[] rPriv = X25519.newPrivateKey();
    private final byte[] rPub = X25519.publicKey(rPriv);

    private HandshakeState wgInitiator(byte[] psk) {
        return HandshakeState.initiator(NoisePattern.IKpsk2, NonceEncoding.LITTLE_ENDIAN, WG_PROLOGUE, iPriv, rPub, psk);
    }

    private HandshakeState wgResponder() {
        return HandshakeState.responder(NoisePattern.IKpsk2, NonceEncoding.LITTLE_ENDIAN, WG_PROLOGUE, rPriv, null);
    }

    @Test
    void protocolNames() {
        assertThat(NoisePattern.IKpsk2.protocolName()).isEqualTo("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s");
        assertThat(NoisePattern.IK.protocolName()).isEqualTo("Noise_IK_25519_ChaChaPoly_BLAKE2s");
    }

    @Test
    void wireGuardInitialHashIsHiMixedWithTheResponderStaticKey() {
        // WireGuard: Hi = HASH(HASH(construction) || identifier), then Hi = HASH(Hi || Spub_r) before message 1.
        byte[] hi = HexFormat.of().parseHex("2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
        assertThat(wgResponder().handshakeHash()).isEqualTo(Blake2s.hash(hi, rPub));
        assertThat(wgInitiator(ZERO_PSK).handshakeHash()).isEqualTo(Blake2s.hash(hi, rPub));
    }

    @Test
    void wireGuardHandshakeWithThePskChosenAfterMessageOne() throws CryptoException {
        byte[] psk = X25519.newPrivateKey(); // any 32 bytes
        byte[] timestamp = HexFormat.of().parseHex("400000006553f10012345678"); // TAI64N
        HandshakeState i = wgInitiator(psk);
        HandshakeState r = wgResponder();

        byte[] msg1 = i.writeMessage(timestamp);
        assertThat(msg1).hasSize(32 + (32 + 16) + (12 + 16)); // e, encrypted s, encrypted timestamp
        assertThat(r.readMessage(msg1)).isEqualTo(timestamp);
        // Only now does the responder know who is calling, hence which psk to use.
        assertThat(r.remoteStaticPublic()).isEqualTo(X25519.publicKey(iPriv));
        assertThatThrownBy(() -> r.writeMessage(null)).isInstanceOf(IllegalStateException.class).hasMessage("psk not set");
        r.setPsk(psk);
        byte[] msg2 = r.writeMessage(new byte[0]);
        assertThat(msg2).hasSize(32 + 16); // e, encrypted empty payload
        assertThat(i.readMessage(msg2)).isEmpty();

        assertThat(i.isComplete()).isTrue();
        assertThat(r.isComplete()).isTrue();
        assertThat(i.handshakeHash()).isEqualTo(r.handshakeHash());
        assertThat(i.remoteEphemeralPublic()).isEqualTo(HexFormat.of().parseHex(HexFormat.of().formatHex(msg2, 0, 32)));
        Split is = i.split();
        Split rs = r.split();
        assertThat(is.sendKey(true)).isEqualTo(rs.recvKey(false)).isNotEqualTo(is.recvKey(true));
        assertThat(is.recvKey(true)).isEqualTo(rs.sendKey(false));
        assertThat(rs.receiver(false).decryptWithAd(null, is.sender(true).encryptWithAd(null, new byte[] {42})))
                .containsExactly(42);
    }

    @Test
    void mismatchedPskFailsWhenTheInitiatorReadsMessageTwo() throws CryptoException {
        HandshakeState i = wgInitiator(ZERO_PSK);
        HandshakeState r = wgResponder();
        r.readMessage(i.writeMessage(new byte[12]));
        byte[] otherPsk = new byte[32];
        otherPsk[0] = 1;
        r.setPsk(otherPsk);
        byte[] msg2 = r.writeMessage(null);
        assertThatThrownBy(() -> i.readMessage(msg2)).isInstanceOf(AeadException.class);
        assertThat(i.isComplete()).isFalse();
    }

    @Test
    void aForgedReplyDoesNotSpoilTheHandshake() throws CryptoException {
        // Anyone can send the initiator garbage; the genuine reply must still complete the handshake.
        HandshakeState i = wgInitiator(ZERO_PSK);
        HandshakeState r = wgResponder();
        r.readMessage(i.writeMessage(new byte[12]));
        r.setPsk(ZERO_PSK);
        byte[] msg2 = r.writeMessage(null);
        byte[] hashBefore = i.handshakeHash();

        byte[] forged = msg2.clone();
        forged[40] ^= 1;
        assertThatThrownBy(() -> i.readMessage(forged)).isInstanceOf(AeadException.class);
        byte[] forgedEphemeral = msg2.clone();
        System.arraycopy(X25519.publicKey(X25519.newPrivateKey()), 0, forgedEphemeral, 0, 32);
        assertThatThrownBy(() -> i.readMessage(forgedEphemeral)).isInstanceOf(AeadException.class);
        assertThatThrownBy(() -> i.readMessage(java.util.Arrays.copyOf(msg2, 47))).isInstanceOf(CryptoException.class)
                .hasMessage("Noise message too short");
        assertThat(i.handshakeHash()).isEqualTo(hashBefore);
        assertThat(i.remoteEphemeralPublic()).isNull();

        assertThat(i.readMessage(msg2)).isEmpty();
        assertThat(i.handshakeHash()).isEqualTo(r.handshakeHash());
    }

    @Test
    void responderRejectsTamperedOrMisaddressedFirstMessages() throws CryptoException {
        byte[] msg1 = wgInitiator(ZERO_PSK).writeMessage(new byte[12]);
        for (int pos : new int[] {0, 40, 90, msg1.length - 1}) {
            byte[] bad = msg1.clone();
            bad[pos] ^= 1;
            assertThatThrownBy(() -> wgResponder().readMessage(bad)).as("byte %d", pos).isInstanceOf(CryptoException.class);
        }
        assertThatThrownBy(() -> wgResponder().readMessage(new byte[31])).hasMessage("Noise message too short");
        assertThatThrownBy(() -> wgResponder().readMessage(java.util.Arrays.copyOf(msg1, 32 + 48 + 15)))
                .hasMessage("Noise message too short");
        // Sent to another responder key, or with another prologue: the encrypted static key does not open.
        HandshakeState stranger = HandshakeState.responder(NoisePattern.IKpsk2, NonceEncoding.LITTLE_ENDIAN, WG_PROLOGUE,
                X25519.newPrivateKey(), null);
        assertThatThrownBy(() -> stranger.readMessage(msg1)).isInstanceOf(AeadException.class);
        HandshakeState otherPrologue = HandshakeState.responder(NoisePattern.IKpsk2, NonceEncoding.LITTLE_ENDIAN,
                "WireGuard v2".getBytes(StandardCharsets.US_ASCII), rPriv, null);
        assertThatThrownBy(() -> otherPrologue.readMessage(msg1)).isInstanceOf(AeadException.class);
        // The failed attempts left the state untouched.
        HandshakeState r = wgResponder();
        assertThatThrownBy(() -> r.readMessage(java.util.Arrays.copyOf(msg1, 200))).isInstanceOf(AeadException.class);
        assertThat(r.readMessage(msg1)).hasSize(12);
    }

    @Test
    void lowOrderEphemeralIsRejected() {
        byte[] msg1 = wgInitiator(ZERO_PSK).writeMessage(new byte[12]);
        System.arraycopy(new byte[32], 0, msg1, 0, 32); // e = 0, a low-order point
        assertThatThrownBy(() -> wgResponder().readMessage(msg1)).isInstanceOf(CryptoException.class).hasMessageContaining("low-order");
    }

    @Test
    void ts2021IsIkWithBigEndianTransportNonces() throws CryptoException {
        HandshakeState i = HandshakeState.initiator(NoisePattern.IK, NonceEncoding.BIG_ENDIAN, TS_PROLOGUE, iPriv, rPub, null);
        HandshakeState r = HandshakeState.responder(NoisePattern.IK, NonceEncoding.BIG_ENDIAN, TS_PROLOGUE, rPriv, null);
        byte[] msg1 = i.writeMessage(null);
        assertThat(msg1).hasSize(32 + 48 + 16);
        assertThat(r.readMessage(msg1)).isEmpty();
        assertThat(i.readMessage(r.writeMessage(null))).isEmpty();
        Split is = i.split();
        Split rs = r.split();

        byte[] hello = "hello".getBytes(StandardCharsets.US_ASCII);
        CipherState send = is.sender(true);
        assertThat(send.encoding()).isEqualTo(NonceEncoding.BIG_ENDIAN);
        byte[] first = send.encryptWithAd(null, hello);
        byte[] second = send.encryptWithAd(null, hello);
        byte[] key = is.sendKey(true);
        assertThat(first).isEqualTo(ChaChaPoly.seal(key, ChaChaPoly.nonceBE(0), null, hello));
        assertThat(second)
                .isEqualTo(ChaChaPoly.seal(key, HexFormat.of().parseHex("000000000000000000000001"), null, hello))
                .isNotEqualTo(ChaChaPoly.seal(key, ChaChaPoly.nonceLE(1), null, hello));
        CipherState recv = rs.receiver(false);
        assertThat(recv.decryptWithAd(null, first)).isEqualTo(hello);
        assertThat(recv.decryptWithAd(null, second)).isEqualTo(hello);
        assertThat(rs.sender(false).encryptWithAd(null, hello)).satisfies(ct ->
                assertThat(is.receiver(true).decryptWithAd(null, ct)).isEqualTo(hello));
    }

    @Test
    void enforcesTurnsCompletionAndSingleSplit() throws CryptoException {
        HandshakeState i = wgInitiator(ZERO_PSK);
        HandshakeState r = wgResponder();
        assertThat(i.isInitiator()).isTrue();
        assertThat(r.isInitiator()).isFalse();
        assertThatThrownBy(() -> r.writeMessage(null)).isInstanceOf(IllegalStateException.class).hasMessage("expected to read message 1");
        assertThatThrownBy(() -> i.readMessage(new byte[48])).isInstanceOf(IllegalStateException.class).hasMessage("expected to write message 1");
        assertThatThrownBy(i::split).isInstanceOf(IllegalStateException.class).hasMessage("handshake not complete");
        r.readMessage(i.writeMessage(null));
        r.setPsk(ZERO_PSK);
        i.readMessage(r.writeMessage(null));
        assertThatThrownBy(() -> i.writeMessage(null)).isInstanceOf(IllegalStateException.class).hasMessage("handshake already complete");
        i.split();
        assertThatThrownBy(i::split).isInstanceOf(IllegalStateException.class).hasMessage("split() already called");
    }

    @Test
    void validatesConstruction() {
        assertThatThrownBy(() -> HandshakeState.initiator(NoisePattern.IK, NonceEncoding.LITTLE_ENDIAN, null, iPriv, null, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("IK needs the responder's static public key");
        assertThatThrownBy(() -> HandshakeState.initiator(NoisePattern.IKpsk2, NonceEncoding.LITTLE_ENDIAN, null, iPriv, rPub, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs a psk");
        assertThatThrownBy(() -> HandshakeState.initiator(NoisePattern.IK, NonceEncoding.LITTLE_ENDIAN, null, iPriv, rPub, ZERO_PSK))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("IK takes no psk");
        assertThatThrownBy(() -> HandshakeState.initiator(NoisePattern.IK, NonceEncoding.LITTLE_ENDIAN, null, null, rPub, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("IK needs the initiator's static private key");
        assertThatThrownBy(() -> HandshakeState.responder(NoisePattern.IKpsk2, NonceEncoding.LITTLE_ENDIAN, null, rPriv, new byte[16]))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("psk must be 32 bytes");
        assertThatThrownBy(() -> HandshakeState.initiator(NoisePattern.IK, NonceEncoding.LITTLE_ENDIAN, null, iPriv, new byte[32], null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("low-order");
    }

    @Test
    void randomEphemeralsGiveFreshHandshakes() throws CryptoException {
        HandshakeState a = HandshakeState.initiator(NoisePattern.IK, NonceEncoding.BIG_ENDIAN, TS_PROLOGUE, iPriv, rPub, null);
        HandshakeState b = HandshakeState.initiator(NoisePattern.IK, NonceEncoding.BIG_ENDIAN, TS_PROLOGUE, iPriv, rPub, null);
        assertThat(a.writeMessage(null)).isNotEqualTo(b.writeMessage(null));
    }

    @Test
    void payloadSizeIsBoundedByTheNoiseMessageLimit() {
        HandshakeState i = wgInitiator(ZERO_PSK);
        assertThatThrownBy(() -> i.writeMessage(new byte[65535 - 32 - 48 - 16 + 1])).isInstanceOf(IllegalArgumentException.class);
        assertThat(i.writeMessage(new byte[65535 - 32 - 48 - 16])).hasSize(65535);
    }
}
