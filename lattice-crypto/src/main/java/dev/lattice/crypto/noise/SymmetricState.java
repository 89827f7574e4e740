package dev.lattice.crypto.noise;

import dev.lattice.crypto.AeadException;
import dev.lattice.crypto.Blake2s;
import dev.lattice.crypto.Hkdf;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Noise's SymmetricState (spec §5.2) for BLAKE2s: chaining key, handshake hash, and an optional CipherState. */
final class SymmetricState {
    private static final byte[] EMPTY = new byte[0];

    private final NonceEncoding encoding;
    private byte[] ck;
    private byte[] h;
    private CipherState cs; // null until the first MixKey: "k is empty"

    SymmetricState(String protocolName, NonceEncoding encoding) {
        this.encoding = encoding;
        byte[] name = protocolName.getBytes(StandardCharsets.US_ASCII);
        // Names up to HASHLEN are zero-padded, longer ones hashed.
        h = name.length <= Blake2s.HASH_LEN ? Arrays.copyOf(name, Blake2s.HASH_LEN) : Blake2s.hash(name);
        ck = h.clone();
    }

    private SymmetricState(SymmetricState o) {
        encoding = o.encoding;
        ck = o.ck.clone();
        h = o.h.clone();
        cs = o.cs == null ? null : o.cs.copy();
    }

    SymmetricState copy() {
        return new SymmetricState(this);
    }

    boolean hasKey() {
        return cs != null;
    }

    void mixKey(byte[] ikm) {
        byte[][] t = Hkdf.derive(ck, ikm, 2);
        ck = t[0];
        cs = new CipherState(t[1], encoding);
        Arrays.fill(t[1], (byte) 0);
    }

    void mixHash(byte[] data) {
        h = Blake2s.hash(h, data);
    }

    void mixKeyAndHash(byte[] ikm) {
        byte[][] t = Hkdf.derive(ck, ikm, 3);
        ck = t[0];
        mixHash(t[1]);
        cs = new CipherState(t[2], encoding);
        Arrays.fill(t[2], (byte) 0);
    }

    byte[] encryptAndHash(byte[] plaintext) {
        byte[] ct = cs == null ? plaintext.clone() : cs.encryptWithAd(h, plaintext);
        mixHash(ct);
        return ct;
    }

    byte[] decryptAndHash(byte[] ciphertext) throws AeadException {
        byte[] pt = cs == null ? ciphertext.clone() : cs.decryptWithAd(h, ciphertext);
        mixHash(ciphertext);
        return pt;
    }

    /** The two transport keys: HKDF(ck, zero-length input, 2). */
    byte[][] split() {
        return Hkdf.derive(ck, EMPTY, 2);
    }

    byte[] handshakeHash() {
        return h.clone();
    }

    void wipe() {
        Arrays.fill(ck, (byte) 0);
        cs = null;
    }
}
