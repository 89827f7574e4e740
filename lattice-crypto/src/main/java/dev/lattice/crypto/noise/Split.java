package dev.lattice.crypto.noise;

/**
 * The transport CipherStates a completed handshake yields (Noise spec §5.2 Split()). Each is owned by one
 * direction; the raw keys are exposed because WireGuard's data path keeps its own counters.
 */
public record Split(CipherState initiatorToResponder, CipherState responderToInitiator) {
    /** The CipherState this side encrypts with. */
    public CipherState sender(boolean asInitiator) {
        return asInitiator ? initiatorToResponder : responderToInitiator;
    }

    /** The CipherState this side decrypts with. */
    public CipherState receiver(boolean asInitiator) {
        return asInitiator ? responderToInitiator : initiatorToResponder;
    }

    /** A copy of the 32-byte key this side sends with. */
    public byte[] sendKey(boolean asInitiator) {
        return sender(asInitiator).key();
    }

    /** A copy of the 32-byte key this side receives with. */
    public byte[] recvKey(boolean asInitiator) {
        return receiver(asInitiator).key();
    }
}
