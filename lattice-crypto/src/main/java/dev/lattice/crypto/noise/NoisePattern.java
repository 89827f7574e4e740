package dev.lattice.crypto.noise;

import static dev.lattice.crypto.noise.Token.E;
import static dev.lattice.crypto.noise.Token.EE;
import static dev.lattice.crypto.noise.Token.ES;
import static dev.lattice.crypto.noise.Token.PSK;
import static dev.lattice.crypto.noise.Token.S;
import static dev.lattice.crypto.noise.Token.SE;
import static dev.lattice.crypto.noise.Token.SS;

import java.util.List;

/**
 * The supported handshake patterns (Noise spec §7, psk modifier §9). IK is ts2021's, IKpsk2 WireGuard's; NN and XX
 * exist so the generic machinery (no-key payloads, a static sent by the responder) is checked against vectors too.
 */
public enum NoisePattern {
    /** {@code -> e / <- e, ee} */
    NN(false, List.of(List.of(E), List.of(E, EE))),
    /** {@code -> e / <- e, ee, s, es / -> s, se} */
    XX(false, List.of(List.of(E), List.of(E, EE, S, ES), List.of(S, SE))),
    /** {@code <- s ... -> e, es, s, ss / <- e, ee, se} */
    IK(true, List.of(List.of(E, ES, S, SS), List.of(E, EE, SE))),
    /** {@code <- s ... -> e, es, s, ss / <- e, ee, se, psk} */
    IKpsk2(true, List.of(List.of(E, ES, S, SS), List.of(E, EE, SE, PSK)));

    /** Whether the responder's static key is a pre-message (the "K" in IK: the initiator knows it in advance). */
    final boolean responderStaticKnown;
    /** messages.get(i) is sent by the initiator for even i, by the responder for odd i. */
    final List<List<Token>> messages;
    final boolean psk;

    NoisePattern(boolean responderStaticKnown, List<List<Token>> messages) {
        this.responderStaticKnown = responderStaticKnown;
        this.messages = messages;
        this.psk = messages.stream().anyMatch(m -> m.contains(PSK));
    }

    /** E.g. {@code Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s}. */
    public String protocolName() {
        return "Noise_" + name() + "_25519_ChaChaPoly_BLAKE2s";
    }

    /** True for psk patterns, whose {@code e} token also runs MixKey(e.pub) (spec §9.2). */
    public boolean usesPsk() {
        return psk;
    }

    /** Whether this side needs its own static key: it sends one, or (responder) it is a pre-message. */
    boolean needsLocalStatic(boolean initiator) {
        if (!initiator && responderStaticKnown) return true;
        for (int i = initiator ? 0 : 1; i < messages.size(); i += 2) {
            if (messages.get(i).contains(S)) return true;
        }
        return false;
    }
}
