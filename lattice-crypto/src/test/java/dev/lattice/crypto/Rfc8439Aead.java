package dev.lattice.crypto;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/** RFC 8439 §2.8.2's ChaCha20-Poly1305 test vector; each call a fresh copy (in-place tests write over their buffers). */
final class Rfc8439Aead {
    private static final HexFormat HEX = HexFormat.of();

    private Rfc8439Aead() {}

    static byte[] key() {
        return HEX.parseHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    }

    static byte[] nonce() {
        return HEX.parseHex("070000004041424344454647");
    }

    static byte[] aad() {
        return HEX.parseHex("50515253c0c1c2c3c4c5c6c7");
    }

    static byte[] plaintext() {
        return ("Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
                + "for the future, sunscreen would be it.").getBytes(StandardCharsets.US_ASCII);
    }

    /** Ciphertext, then the 16-byte tag. */
    static byte[] sealed() {
        return HEX.parseHex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
                + "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
                + "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                + "3ff4def08e4b7a9de576d26586cec64b6116"
                + "1ae10b594f09e26a7e902ecbd0600691");
    }
}
