package dev.lattice.wireguard.uapi;

import dev.lattice.crypto.key.NodePrivateKey;
import java.util.List;

/**
 * A snapshot of the device for {@code get}.
 *
 * @param privateKey the private key, or null if none (an all-zero key is treated the same: not reported)
 * @param listenPort the bound UDP port, 0 if none (then no {@code listen_port=} line)
 * @param fwmark     the firewall mark as an unsigned 32-bit value, 0 if none (then no {@code fwmark=} line)
 * @param peers      peers, in the order {@code get} lists them
 */
public record DeviceState(NodePrivateKey privateKey, int listenPort, int fwmark, List<PeerState> peers) {

    public DeviceState {
        if (listenPort < 0 || listenPort > 0xffff) {
            throw new IllegalArgumentException("listen port " + listenPort + " out of range");
        }
        peers = List.copyOf(peers);
    }

    @Override
    public String toString() {
        return "DeviceState[privateKey=" + (privateKey == null || privateKey.isZero() ? "none" : "set")
                + ", listenPort=" + listenPort
                + ", fwmark=" + Integer.toUnsignedString(fwmark)
                + ", peers=" + peers + "]";
    }
}
