package dev.lattice.crypto;

import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.modes.AEADCipher;

/** The one-shot seal/open shared by the BouncyCastle-backed AEADs; the cipher comes initialised. */
final class BcAead {
    static final int TAG_LEN = 16;

    private BcAead() {}

    static byte[] seal(AEADCipher c, String name, byte[] plaintext) {
        Objects.requireNonNull(plaintext, "plaintext");
        byte[] out = new byte[plaintext.length + TAG_LEN];
        int n = c.processBytes(plaintext, 0, plaintext.length, out, 0);
        try {
            c.doFinal(out, n);
        } catch (InvalidCipherTextException e) {
            throw new IllegalStateException(name + " encryption cannot fail", e);
        }
        return out;
    }

    /** Checks the input length before any cipher is made, so a short input fails cheaply. */
    static void checkLength(String name, byte[] ciphertextAndTag) throws AeadException {
        Objects.requireNonNull(ciphertextAndTag, "ciphertextAndTag");
        if (ciphertextAndTag.length < TAG_LEN) {
            throw new AeadException(name + " authentication failed: input shorter than the tag");
        }
    }

    static byte[] open(AEADCipher c, String name, byte[] ciphertextAndTag) throws AeadException {
        byte[] out = new byte[ciphertextAndTag.length - TAG_LEN];
        try {
            int n = c.processBytes(ciphertextAndTag, 0, ciphertextAndTag.length, out, 0);
            c.doFinal(out, n);
        } catch (InvalidCipherTextException e) {
            // BC writes plaintext before it checks the tag; don't leave unauthenticated bytes lying around.
            Arrays.fill(out, (byte) 0);
            throw new AeadException(name + " authentication failed");
        }
        return out;
    }
}
