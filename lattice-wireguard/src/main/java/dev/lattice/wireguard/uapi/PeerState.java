package dev.lattice.wireguard.uapi;

import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import dev.lattice.wire.ip.IpPrefix;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;

/**
 * A peer as {@code get} reports it.
 *
 * @param publicKey                  the peer's static public key
 * @param presharedKey               the preshared key; null is read as {@link PresharedKey#NONE} (reported as 64 zeros)
 * @param endpoint                   the current endpoint, or null if none is known (then no {@code endpoint=} line)
 * @param lastHandshakeEpochNanos    wall-clock time of the last completed handshake in nanoseconds since the Unix
 *                                   epoch, 0 if never
 * @param rxBytes                    bytes received, unsigned 64-bit
 * @param txBytes                    bytes sent, unsigned 64-bit
 * @param persistentKeepaliveSeconds 0 (off) .. 65535
 * @param allowedIps                 allowed IPs, in the order {@code get} lists them
 */
public record PeerState(
        NodePublicKey publicKey,
        PresharedKey presharedKey,
        InetSocketAddress endpoint,
        long lastHandshakeEpochNanos,
        long rxBytes,
        long txBytes,
        int persistentKeepaliveSeconds,
        List<IpPrefix> allowedIps) {

    public PeerState {
        Objects.requireNonNull(publicKey, "publicKey");
        if (presharedKey == null) presharedKey = PresharedKey.NONE;
        if (endpoint != null && endpoint.isUnresolved()) {
            throw new IllegalArgumentException("endpoint must be a literal address, not a host name");
        }
        if (persistentKeepaliveSeconds < 0 || persistentKeepaliveSeconds > 0xffff) {
            throw new IllegalArgumentException("persistent keepalive " + persistentKeepaliveSeconds + " out of range");
        }
        allowedIps = List.copyOf(allowedIps);
    }

    @Override
    public String toString() {
        return "PeerState[" + publicKey
                + ", presharedKey=" + (presharedKey.isZero() ? "none" : "set")
                + ", endpoint=" + (endpoint == null ? "none" : Netip.formatEndpoint(endpoint))
                + ", lastHandshakeEpochNanos=" + lastHandshakeEpochNanos
                + ", rxBytes=" + Long.toUnsignedString(rxBytes)
                + ", txBytes=" + Long.toUnsignedString(txBytes)
                + ", persistentKeepaliveSeconds=" + persistentKeepaliveSeconds
                + ", allowedIps=" + allowedIps + "]";
    }
}
