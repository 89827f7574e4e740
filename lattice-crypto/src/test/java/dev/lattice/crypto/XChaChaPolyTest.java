package dev.lattice.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** XChaCha20-Poly1305 against draft-irtf-cfrg-xchacha-03 §A.3.1. */
class XChaChaPolyTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] KEY = HEX.parseHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    private static final byte[] NONCE = HEX.parseHex("404142434445464748494a4b4c4d4e4f5051525354555657");
    private static final byte[] AAD = HEX.parseHex("50515253c0c1c2c3c4c5c6c7");
    private static final byte[] PLAINTEXT = ("Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
            + "for the future, sunscreen would be it.").getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SEALED = HEX.parseHex(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
            + "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
            + "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
            + "21f9664c97637da9768812f615c68b13b52e"
            + "c0875924c1c7987947deafd8780acf49"); // tag

    @Test
    void draftXChaCha03AppendixA3_1() throws AeadException {
        assertThat(XChaChaPoly.seal(KEY, NONCE, AAD, PLAINTEXT)).isEqualTo(SEALED);
        assertThat(XChaChaPoly.open(KEY, NONCE, AAD, SEALED)).isEqualTo(PLAINTEXT);
    }

    @Test
    void isChaChaPolyUnderTheHChaCha20Subkey() throws AeadException {
        // The first 16 nonce bytes only feed HChaCha20: changing them changes everything.
        byte[] other = NONCE.clone();
        other[0] ^= 1;
        assertThat(Arrays.copyOf(XChaChaPoly.seal(KEY, other, AAD, PLAINTEXT), 16)).isNotEqualTo(Arrays.copyOf(SEALED, 16));
        assertThatThrownBy(() -> XChaChaPoly.open(KEY, other, AAD, SEALED)).isInstanceOf(AeadException.class);
    }

    @Test
    void anyFlippedBitFailsToOpen() {
        for (int i = 0; i < SEALED.length; i++) {
            byte[] bad = SEALED.clone();
            bad[i] ^= 0x10;
            assertThatThrownBy(() -> XChaChaPoly.open(KEY, NONCE, AAD, bad))
                    .isInstanceOf(AeadException.class)
                    .hasMessageContaining("authentication failed");
        }
        byte[] badAad = AAD.clone();
        badAad[11] ^= 1;
        assertThatThrownBy(() -> XChaChaPoly.open(KEY, NONCE, badAad, SEALED)).isInstanceOf(AeadException.class);
        byte[] badNonce = NONCE.clone();
        badNonce[23] ^= 1;
        assertThatThrownBy(() -> XChaChaPoly.open(KEY, badNonce, AAD, SEALED)).isInstanceOf(AeadException.class);
    }

    @Test
    void rejectsWrongNonceSize() {
        assertThatThrownBy(() -> XChaChaPoly.seal(KEY, new byte[12], AAD, PLAINTEXT)).isInstanceOf(IllegalArgumentException.class);
    }
}
