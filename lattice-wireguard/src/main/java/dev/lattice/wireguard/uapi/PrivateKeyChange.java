package dev.lattice.wireguard.uapi;

import dev.lattice.crypto.key.NodePrivateKey;
import java.util.Objects;

/**
 * What a {@code set} does to the device's private key: {@code private_key=<hex>} replaces it (already clamped, as
 * wireguard-go clamps), {@code private_key=} followed by 64 zeros clears it.
 */
public sealed interface PrivateKeyChange {

    /** Set the private key. The key is clamped and never all-zero. */
    record Replace(NodePrivateKey key) implements PrivateKeyChange {
        public Replace {
            Objects.requireNonNull(key, "key");
            if (key.isZero()) throw new IllegalArgumentException("an all-zero private key means Clear, not Replace");
        }
    }

    /**
     * Remove the private key: the device has no identity afterwards, cannot handshake, and {@code get} omits
     * {@code private_key}.
     */
    record Clear() implements PrivateKeyChange {}

    Clear CLEAR = new Clear();
}
