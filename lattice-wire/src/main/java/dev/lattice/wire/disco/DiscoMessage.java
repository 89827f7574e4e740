package dev.lattice.wire.disco;

import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * An inner disco message (what travels inside the NaCl box). {@link Disco#parse} reads one,
 * {@link #marshal()} writes it as Go's {@code AppendMarshal}: type, version 0, payload.
 */
public sealed interface DiscoMessage {

    MessageType type();

    /** type | version 0 | payload, exactly as Go's {@code AppendMarshal(nil)}. */
    default byte[] marshal() {
        return Disco.marshal(this);
    }

    /**
     * A ping. {@code nodeKey} is the sender's claimed WireGuard key, null when not sent (clients before 1.16;
     * an all-zero key also means "not sent", as Go's {@code IsZero}). {@code padding} zero bytes follow (MTU
     * probing); on parse it counts every byte after the key, whatever their value, as Go does.
     */
    record Ping(TxId txId, NodePublicKey nodeKey, int padding) implements DiscoMessage {
        public Ping {
            Objects.requireNonNull(txId, "txId");
            if (nodeKey != null && nodeKey.isZero()) nodeKey = null;
            if (padding < 0) throw new IllegalArgumentException("ping padding " + padding + " out of range");
        }

        public Ping(TxId txId, NodePublicKey nodeKey) {
            this(txId, nodeKey, 0);
        }

        @Override
        public MessageType type() {
            return MessageType.PING;
        }
    }

    /** A reply to a ping carrying the address the ping came from (v4 addresses travel v4-mapped). */
    record Pong(TxId txId, InetSocketAddress src) implements DiscoMessage {
        public Pong {
            Objects.requireNonNull(txId, "txId");
            Disco.checkAddress(src);
        }

        @Override
        public MessageType type() {
            return MessageType.PONG;
        }
    }

    /** Sent over DERP: "my endpoints are these, try them". Empty when Go would read it as empty. */
    record CallMeMaybe(List<InetSocketAddress> myNumber) implements DiscoMessage {
        public CallMeMaybe {
            myNumber = List.copyOf(myNumber);
            myNumber.forEach(Disco::checkAddress);
        }

        @Override
        public MessageType type() {
            return MessageType.CALL_ME_MAYBE;
        }
    }

    /**
     * The fields shared by the three peer-relay bind handshake messages. {@code vni} and {@code generation} are
     * unsigned 32-bit values held in an int. {@code challenge} (32 bytes) is padding in the first message.
     */
    record BindCommon(int vni, int generation, DiscoPublicKey remoteKey, byte[] challenge) {
        public static final int CHALLENGE_LEN = 32;

        public BindCommon {
            Objects.requireNonNull(remoteKey, "remoteKey");
            if (challenge == null || challenge.length != CHALLENGE_LEN) throw new IllegalArgumentException("challenge must be 32 bytes");
            challenge = challenge.clone();
        }

        @Override
        public byte[] challenge() {
            return challenge.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof BindCommon b && vni == b.vni && generation == b.generation
                    && remoteKey.equals(b.remoteKey) && Arrays.equals(challenge, b.challenge);
        }

        @Override
        public int hashCode() {
            return Objects.hash(vni, generation, remoteKey, Arrays.hashCode(challenge));
        }

        @Override
        public String toString() {
            return "BindCommon[vni=" + Integer.toUnsignedString(vni) + ", generation=" + Integer.toUnsignedString(generation)
                    + ", remoteKey=" + remoteKey + ", challenge=" + HexFormat.of().formatHex(challenge) + "]";
        }
    }

    /** Relay client to relay server, first message of the bind handshake. */
    record BindUdpRelayEndpoint(BindCommon common) implements DiscoMessage {
        public BindUdpRelayEndpoint {
            Objects.requireNonNull(common, "common");
        }

        @Override
        public MessageType type() {
            return MessageType.BIND_UDP_RELAY_ENDPOINT;
        }
    }

    /** Relay server to relay client: the challenge to echo. */
    record BindUdpRelayEndpointChallenge(BindCommon common) implements DiscoMessage {
        public BindUdpRelayEndpointChallenge {
            Objects.requireNonNull(common, "common");
        }

        @Override
        public MessageType type() {
            return MessageType.BIND_UDP_RELAY_ENDPOINT_CHALLENGE;
        }
    }

    /** Relay client to relay server: the echoed challenge. */
    record BindUdpRelayEndpointAnswer(BindCommon common) implements DiscoMessage {
        public BindUdpRelayEndpointAnswer {
            Objects.requireNonNull(common, "common");
        }

        @Override
        public MessageType type() {
            return MessageType.BIND_UDP_RELAY_ENDPOINT_ANSWER;
        }
    }

    /**
     * A peer-relay endpoint as Go's {@code disco.UDPRelayEndpoint}. {@code vni} is unsigned 32-bit, lifetimes are
     * Go durations (signed 64-bit nanoseconds on the wire).
     */
    record UdpRelayEndpoint(DiscoPublicKey serverDisco, DiscoPublicKey clientDisco1, DiscoPublicKey clientDisco2,
                            long lamportId, int vni, Duration bindLifetime, Duration steadyStateLifetime,
                            List<InetSocketAddress> addrPorts) {
        /** What Go's zero value marshals as: zero keys, zero numbers, no addresses. */
        public static final UdpRelayEndpoint ZERO = new UdpRelayEndpoint(Disco.ZERO_DISCO, Disco.ZERO_DISCO, Disco.ZERO_DISCO,
                0, 0, Duration.ZERO, Duration.ZERO, List.of());

        public UdpRelayEndpoint {
            Objects.requireNonNull(serverDisco, "serverDisco");
            Objects.requireNonNull(clientDisco1, "clientDisco1");
            Objects.requireNonNull(clientDisco2, "clientDisco2");
            Disco.checkNanos(bindLifetime, "bindLifetime");
            Disco.checkNanos(steadyStateLifetime, "steadyStateLifetime");
            addrPorts = List.copyOf(addrPorts);
            addrPorts.forEach(Disco::checkAddress);
        }
    }

    /** Sent over DERP: reach me through this peer relay endpoint. */
    record CallMeMaybeVia(UdpRelayEndpoint endpoint) implements DiscoMessage {
        public CallMeMaybeVia {
            Objects.requireNonNull(endpoint, "endpoint");
        }

        @Override
        public MessageType type() {
            return MessageType.CALL_ME_MAYBE_VIA;
        }
    }

    /** Sent over DERP to a peer relay: allocate an endpoint for these two clients. {@code generation} is unsigned. */
    record AllocateUdpRelayEndpointRequest(DiscoPublicKey clientDisco1, DiscoPublicKey clientDisco2, int generation)
            implements DiscoMessage {
        public AllocateUdpRelayEndpointRequest {
            Objects.requireNonNull(clientDisco1, "clientDisco1");
            Objects.requireNonNull(clientDisco2, "clientDisco2");
        }

        @Override
        public MessageType type() {
            return MessageType.ALLOCATE_UDP_RELAY_ENDPOINT_REQUEST;
        }
    }

    /** The relay's answer, echoing the request's generation. */
    record AllocateUdpRelayEndpointResponse(int generation, UdpRelayEndpoint endpoint) implements DiscoMessage {
        public AllocateUdpRelayEndpointResponse {
            Objects.requireNonNull(endpoint, "endpoint");
        }

        @Override
        public MessageType type() {
            return MessageType.ALLOCATE_UDP_RELAY_ENDPOINT_RESPONSE;
        }
    }
}
