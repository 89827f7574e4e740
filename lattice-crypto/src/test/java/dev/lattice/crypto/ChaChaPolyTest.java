package dev.lattice.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** ChaCha20-Poly1305 against RFC 8439 §2.8.2, plus tampering and the two nonce layouts. */
class ChaChaPolyTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] KEY = Rfc8439Aead.key();
    private static final byte[] NONCE = Rfc8439Aead.nonce();
    private static final byte[] AAD = Rfc8439Aead.aad();
    private static final byte[] PLAINTEXT = Rfc8439Aead.plaintext();
    private static final byte[] SEALED = Rfc8439Aead.sealed();

    @Test
    void rfc8439Section2_8_2() throws AeadException {
        assertThat(ChaChaPoly.seal(KEY, NONCE, AAD, PLAINTEXT)).isEqualTo(SEALED);
        assertThat(ChaChaPoly.open(KEY, NONCE, AAD, SEALED)).isEqualTo(PLAINTEXT);
    }

    @Test
    void anyFlippedBitFailsToOpen() {
        for (int i = 0; i < SEALED.length; i++) {
            byte[] bad = SEALED.clone();
            bad[i] ^= 1;
            assertThatThrownBy(() -> ChaChaPoly.open(KEY, NONCE, AAD, bad))
                    .isInstanceOf(AeadException.class)
                    .hasMessageContaining("authentication failed");
        }
        byte[] badAad = AAD.clone();
        badAad[0] = (byte) (badAad[0] ^ 0x80);
        assertThatThrownBy(() -> ChaChaPoly.open(KEY, NONCE, badAad, SEALED)).isInstanceOf(AeadException.class);
        byte[] badNonce = NONCE.clone();
        badNonce[11] ^= 1;
        assertThatThrownBy(() -> ChaChaPoly.open(KEY, badNonce, AAD, SEALED)).isInstanceOf(AeadException.class);
        byte[] badKey = KEY.clone();
        badKey[31] ^= 1;
        assertThatThrownBy(() -> ChaChaPoly.open(badKey, NONCE, AAD, SEALED)).isInstanceOf(AeadException.class);
        assertThatThrownBy(() -> ChaChaPoly.open(KEY, NONCE, null, SEALED)).isInstanceOf(AeadException.class);
        assertThatThrownBy(() -> ChaChaPoly.open(KEY, NONCE, AAD, new byte[15])).isInstanceOf(AeadException.class);
    }

    @Test
    void failureMessageNeverCarriesKeyMaterial() {
        assertThatThrownBy(() -> ChaChaPoly.open(KEY, NONCE, AAD, new byte[40]))
                .message()
                .doesNotContainIgnoringCase(HEX.formatHex(KEY).substring(0, 16));
    }

    @Test
    void nullAndEmptyAadAreTheSame() throws AeadException {
        byte[] a = ChaChaPoly.seal(KEY, NONCE, null, PLAINTEXT);
        assertThat(ChaChaPoly.seal(KEY, NONCE, new byte[0], PLAINTEXT)).isEqualTo(a);
        assertThat(ChaChaPoly.open(KEY, NONCE, new byte[0], a)).isEqualTo(PLAINTEXT);
    }

    @Test
    void emptyPlaintextIsJustATag() throws AeadException {
        byte[] tag = ChaChaPoly.seal(KEY, NONCE, AAD, new byte[0]);
        assertThat(tag).hasSize(16);
        assertThat(ChaChaPoly.open(KEY, NONCE, AAD, tag)).isEmpty();
    }

    @Test
    void nonceLayouts() {
        // Noise/WireGuard: 32 zero bits then the counter little-endian. ts2021: big-endian.
        assertThat(ChaChaPoly.nonceLE(0x0102030405060708L)).isEqualTo(HEX.parseHex("000000000807060504030201"));
        assertThat(ChaChaPoly.nonceBE(0x0102030405060708L)).isEqualTo(HEX.parseHex("000000000102030405060708"));
        assertThat(ChaChaPoly.nonceLE(-2L)).isEqualTo(HEX.parseHex("00000000feffffffffffffff"));
        assertThat(ChaChaPoly.nonceBE(1)).isEqualTo(HEX.parseHex("000000000000000000000001"));
    }

    @Test
    void rejectsWrongSizes() {
        assertThatThrownBy(() -> ChaChaPoly.seal(new byte[16], NONCE, null, PLAINTEXT)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ChaChaPoly.seal(KEY, new byte[8], null, PLAINTEXT)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sealIntoAndOpenIntoWorkInPlaceAtOffsetsAndMatchSealAndOpen() throws AeadException {
        byte[] nonce = ChaChaPoly.nonceBE(7);
        byte[] in = new byte[5 + PLAINTEXT.length + 3];
        System.arraycopy(PLAINTEXT, 0, in, 5, PLAINTEXT.length);
        byte[] out = new byte[11 + PLAINTEXT.length + ChaChaPoly.TAG_LEN + 2];
        assertThat(ChaChaPoly.sealInto(KEY, nonce, in, 5, PLAINTEXT.length, out, 11)).isEqualTo(PLAINTEXT.length + 16);
        byte[] sealed = ChaChaPoly.seal(KEY, nonce, null, PLAINTEXT);
        assertThat(java.util.Arrays.copyOfRange(out, 11, 11 + sealed.length)).isEqualTo(sealed);
        assertThat(out[10]).isZero();
        assertThat(out[out.length - 1]).isZero();

        byte[] back = new byte[2 + PLAINTEXT.length];
        assertThat(ChaChaPoly.openInto(KEY, nonce, out, 11, sealed.length, back, 2)).isEqualTo(PLAINTEXT.length);
        assertThat(java.util.Arrays.copyOfRange(back, 2, back.length)).isEqualTo(PLAINTEXT);
    }

    @Test
    void openIntoWritesNothingWhenTheTagIsWrong() {
        byte[] nonce = ChaChaPoly.nonceBE(8);
        byte[] sealed = ChaChaPoly.seal(KEY, nonce, null, PLAINTEXT);
        sealed[sealed.length - 1] ^= 1;
        byte[] out = new byte[PLAINTEXT.length];
        assertThatThrownBy(() -> ChaChaPoly.openInto(KEY, nonce, sealed, 0, sealed.length, out, 0))
                .isInstanceOf(AeadException.class);
        assertThat(out).containsOnly(0);
        assertThatThrownBy(() -> ChaChaPoly.openInto(KEY, nonce, sealed, 0, 15, out, 0)).isInstanceOf(AeadException.class);
        assertThatThrownBy(() -> ChaChaPoly.sealInto(KEY, nonce, PLAINTEXT, 0, PLAINTEXT.length, new byte[PLAINTEXT.length + 15], 0))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }
}
