package dev.lattice.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * NaCl crypto_box against NaCl's tests/box.c, box2.c and core1.c (also in libsodium's test/default), and Go's
 * golang.org/x/crypto/nacl/box and secretbox tests. NaCl's C API pads with 32 (box) / 16 (open) zero bytes; the
 * Go layout used here drops that padding, so a box is the C output from byte 16 on: tag || ciphertext.
 */
class NaclBoxTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] ALICE_SK = HEX.parseHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    private static final byte[] ALICE_PK = HEX.parseHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    private static final byte[] BOB_SK = HEX.parseHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    private static final byte[] BOB_PK = HEX.parseHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    private static final byte[] NONCE = HEX.parseHex("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37");
    /** box.c's m without its 32 leading zero bytes. */
    private static final byte[] MESSAGE = HEX.parseHex(
            "be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc"
            + "e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31"
            + "0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde"
            + "048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864"
            + "5e0705");
    /** box.c's expected output from byte 16 on: the 16-byte Poly1305 tag, then the ciphertext. */
    private static final byte[] BOX = HEX.parseHex(
            "f3ffc7703f9400e52a7dfb4b3d3305d9"
            + "8e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c531a1186a"
            + "c0dfc17c98dce87b4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738"
            + "b48eeee314a7cc8ab932164548e526ae90224368517acfeabd6bb3732bc0e9da"
            + "99832b61ca01b6de56244a9e88d5f9b37973f622a43d14a6599b1f654cb45a74"
            + "e355a5");

    @Test
    void hsalsa20OfTheSharedSecretIsNaclsFirstKey() {
        // core1.c: the X25519 shared secret of Alice and Bob through HSalsa20 with a zero input.
        byte[] shared = HEX.parseHex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assertThat(NaclBox.hsalsa20(shared, new byte[16]))
                .isEqualTo(HEX.parseHex("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389"));
    }

    @Test
    void naclBoxVector() {
        assertThat(NaclBox.seal(MESSAGE, NONCE, BOB_PK, ALICE_SK)).isEqualTo(BOX);
        assertThat(NaclBox.precompute(BOB_PK, ALICE_SK).seal(MESSAGE, NONCE)).isEqualTo(BOX);
    }

    @Test
    void naclBox2Vector() throws AeadException {
        assertThat(NaclBox.open(BOX, NONCE, ALICE_PK, BOB_SK)).isEqualTo(MESSAGE);
        assertThat(NaclBox.precompute(ALICE_PK, BOB_SK).open(BOX, NONCE)).isEqualTo(MESSAGE);
    }

    @Test
    void goNaclBoxVector() {
        // golang.org/x/crypto/nacl/box TestBox: keys of all 1s and all 2s, message all 3s, nonce all 4s.
        byte[] priv1 = filled(32, 1);
        byte[] priv2 = filled(32, 2);
        byte[] box = NaclBox.seal(filled(64, 3), filled(24, 4), X25519.publicKey(priv1), priv2);
        assertThat(box).isEqualTo(HEX.parseHex(
                "78ea30b19d2341ebbdba54180f821eec265cf86312549bea8a37652a8bb94f07"
                + "b78a73ed1708085e6ddd0e943bbdeb8755079a37eb31d86163ce241164a47629"
                + "c0539f330b4914cd135b3855bc2a2dfc"));
    }

    @Test
    void goSecretboxVector() {
        // golang.org/x/crypto/nacl/secretbox TestSecretBox: a precomputed key is a secretbox key.
        byte[] box = new NaclBox.SharedKey(filled(32, 1)).seal(filled(64, 3), filled(24, 2));
        assertThat(box).isEqualTo(HEX.parseHex(
                "8442bc313f4626f1359e3b50122b6ce6fe66ddfe7d39d14e637eb4fd5b45bead"
                + "ab55198df6ab5368439792a23c87db70acb6156dc5ef957ac04f6276cf6093b8"
                + "4be77ff0849cc33e34b7254d5a8f65ad"));
    }

    @Test
    void roundTripsAnyLength() throws AeadException {
        byte[] a = X25519.newPrivateKey();
        byte[] b = X25519.newPrivateKey();
        NaclBox.SharedKey ab = NaclBox.precompute(X25519.publicKey(b), a);
        NaclBox.SharedKey ba = NaclBox.precompute(X25519.publicKey(a), b);
        for (int len : new int[] {0, 1, 31, 32, 33, 63, 64, 65, 1000}) {
            byte[] m = filled(len, len);
            byte[] box = ab.seal(m, NONCE);
            assertThat(box).hasSize(16 + len);
            assertThat(ba.open(box, NONCE)).isEqualTo(m);
        }
    }

    @Test
    void anyCorruptedByteFailsToOpen() {
        for (int i = 0; i < BOX.length; i++) {
            byte[] bad = BOX.clone();
            bad[i] ^= 0x40;
            assertThatThrownBy(() -> NaclBox.open(bad, NONCE, ALICE_PK, BOB_SK))
                    .isInstanceOf(AeadException.class)
                    .hasMessageContaining("authentication failed");
        }
        byte[] badNonce = NONCE.clone();
        badNonce[0] ^= 1;
        assertThatThrownBy(() -> NaclBox.open(BOX, badNonce, ALICE_PK, BOB_SK)).isInstanceOf(AeadException.class);
        assertThatThrownBy(() -> NaclBox.open(Arrays.copyOf(BOX, 15), NONCE, ALICE_PK, BOB_SK)).isInstanceOf(AeadException.class);
    }

    @Test
    void sharedKeyNeverPrintsItself() {
        assertThat(NaclBox.precompute(BOB_PK, ALICE_SK).toString()).isEqualTo("NaclBox.SharedKey[redacted]");
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }
}
