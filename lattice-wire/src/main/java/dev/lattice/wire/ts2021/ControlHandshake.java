package dev.lattice.wire.ts2021;

import dev.lattice.crypto.CryptoException;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.noise.HandshakeState;
import dev.lattice.crypto.noise.NoisePattern;
import dev.lattice.crypto.noise.NonceEncoding;
import dev.lattice.crypto.noise.Split;
import java.nio.charset.StandardCharsets;

/**
 * The ts2021 handshake: {@code Noise_IK_25519_ChaChaPoly_BLAKE2s} with empty payloads, the client's machine key as
 * initiator static and the server's control key as responder static. The prologue binds the client's protocol
 * version: {@code "Tailscale Control Protocol v" + version}.
 */
public final class ControlHandshake {
    private static final String PROLOGUE_PREFIX = "Tailscale Control Protocol v";

    private ControlHandshake() {}

    static byte[] prologue(int version) {
        return (PROLOGUE_PREFIX + version).getBytes(StandardCharsets.US_ASCII);
    }

    /** An established channel: who the peer is, the agreed version, and one cipher per direction. */
    public record Established(int version, MachinePublicKey peer, ControlCipher rx, ControlCipher tx, byte[] handshakeHash) {}

    /** The server's side: the response to send plus the established channel. */
    public record Accepted(byte[] response, Established channel) {}

    /**
     * Server side: checks and answers a 101-byte initiation. Any failure is a {@link ControlProtocolException}
     * whose message may be sent back in an error message.
     */
    public static Accepted accept(MachinePrivateKey controlKey, byte[] initiation) throws ControlProtocolException {
        ControlMessages.Initiation init = ControlMessages.Initiation.parse(initiation);
        HandshakeState hs = HandshakeState.responder(NoisePattern.IK, NonceEncoding.BIG_ENDIAN, prologue(init.version()),
                controlKey.raw(), null);
        try {
            hs.readMessage(init.noiseMessage());
        } catch (CryptoException e) {
            throw new ControlProtocolException("handshake initiation failed authentication", e);
        } catch (IllegalArgumentException e) {
            throw new ControlProtocolException("invalid handshake initiation", e);
        }
        byte[] reply = hs.writeMessage(new byte[0]);
        Split split = hs.split();
        MachinePublicKey peer = new MachinePublicKey(hs.remoteStaticPublic());
        Established ch = new Established(init.version(), peer, new ControlCipher(split.initiatorToResponder()),
                new ControlCipher(split.responderToInitiator()), hs.handshakeHash());
        return new Accepted(ControlMessages.response(reply), ch);
    }

    /** Client side, first half: the initiation to send; call {@link #finish} with the server's reply. */
    public static final class Client {
        private final HandshakeState hs;
        private final int version;
        private final byte[] initiation;

        public Client(MachinePrivateKey machineKey, MachinePublicKey controlKey, int version) {
            this.version = version;
            this.hs = HandshakeState.initiator(NoisePattern.IK, NonceEncoding.BIG_ENDIAN, prologue(version), machineKey.raw(),
                    controlKey.raw(), null);
            this.initiation = new ControlMessages.Initiation(version, hs.writeMessage(new byte[0])).encode();
        }

        public byte[] initiation() {
            return initiation.clone();
        }

        /**
         * Reads the server's reply: a 51-byte response, or an error message whose text becomes the exception's
         * message ({@code server error: ...}).
         */
        public Established finish(byte[] reply) throws ControlProtocolException {
            if (reply.length >= ControlMessages.HEADER_LEN && (reply[0] & 0xff) == ControlMessages.TYPE_ERROR) {
                int len = Math.min(ControlMessages.u16(reply, 1), reply.length - ControlMessages.HEADER_LEN);
                throw new ControlProtocolException("server error: "
                        + new String(reply, ControlMessages.HEADER_LEN, len, StandardCharsets.US_ASCII));
            }
            if (reply.length != ControlMessages.RESPONSE_LEN || (reply[0] & 0xff) != ControlMessages.TYPE_RESPONSE
                    || ControlMessages.u16(reply, 1) != ControlMessages.RESPONSE_PAYLOAD_LEN) {
                throw new ControlProtocolException("malformed handshake response");
            }
            byte[] noise = java.util.Arrays.copyOfRange(reply, ControlMessages.HEADER_LEN, reply.length);
            try {
                hs.readMessage(noise);
            } catch (CryptoException e) {
                throw new ControlProtocolException("handshake response failed authentication", e);
            }
            Split split = hs.split();
            return new Established(version, new MachinePublicKey(hs.remoteStaticPublic()),
                    new ControlCipher(split.responderToInitiator()), new ControlCipher(split.initiatorToResponder()),
                    hs.handshakeHash());
        }
    }
}
