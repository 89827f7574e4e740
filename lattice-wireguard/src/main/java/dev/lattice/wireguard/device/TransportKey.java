package dev.lattice.wireguard.device;

import dev.lattice.crypto.ChaChaPolyInPlace;
import javax.crypto.spec.SecretKeySpec;

/**
 * One direction's transport key in the two forms {@link TransportCipher} uses: the JDK's key object and the
 * expanded words of {@link ChaChaPolyInPlace}, both made once per session rather than per packet.
 */
final class TransportKey {
    final SecretKeySpec jdk;
    final int[] words;

    TransportKey(byte[] key32) {
        this.jdk = new SecretKeySpec(key32, "ChaCha20");
        this.words = ChaChaPolyInPlace.key(key32);
    }
}
