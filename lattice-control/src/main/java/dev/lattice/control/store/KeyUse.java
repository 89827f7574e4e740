package dev.lattice.control.store;

import java.util.Optional;

/**
 * A single-use pre-auth key to be marked used by the same transaction that stores the node it registers
 * ({@link Nodes#create(Node, KeyUse)}, {@link Nodes#update(Node, KeyUse)}): a crash can then never leave the key
 * spent without its node, and of two registrations racing for the key only one commits.
 */
public record KeyUse(long keyId) {
    /** What registering a node with {@code key} spends: nothing for a reusable key. */
    public static Optional<KeyUse> of(PreAuthKey key) {
        return key.reusable() ? Optional.empty() : Optional.of(new KeyUse(key.id()));
    }
}
