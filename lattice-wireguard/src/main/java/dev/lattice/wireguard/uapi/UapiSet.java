package dev.lattice.wireguard.uapi;

import java.util.List;

/**
 * One parsed {@code set=1} transaction. Device-level fields are null when the transaction did not mention them.
 *
 * <p>Device-level lines come before the first {@code public_key=} line, so they apply before every peer block.
 * Their relative order does not change the outcome, except that a repeated key keeps its last value, which is
 * what these fields hold.
 *
 * @param privateKey   new private key or {@link PrivateKeyChange.Clear}, or null to leave it. A device also
 *                     removes any peer whose public key equals the new public key (wireguard-go's
 *                     {@code SetPrivateKey}).
 * @param listenPort   new UDP port 0..65535 (0 = pick any free port; {@code get} then reports the bound port),
 *                     or null. A bind failure is {@link UapiError#PORT_IN_USE}.
 * @param fwmark       new firewall mark, an unsigned 32-bit value (0 = none), or null. A failure to apply it is
 *                     {@link UapiError#PORT_IN_USE}, as in wireguard-go.
 * @param replacePeers {@code replace_peers=true}: remove every peer before the peer blocks apply
 * @param peers        peer blocks, in order; see {@link PeerChange} for how each applies
 */
public record UapiSet(
        PrivateKeyChange privateKey,
        Integer listenPort,
        Integer fwmark,
        boolean replacePeers,
        List<PeerChange> peers) {

    public static final UapiSet EMPTY = new UapiSet(null, null, null, false, List.of());

    public UapiSet {
        peers = List.copyOf(peers);
        if (listenPort != null && (listenPort < 0 || listenPort > 0xffff)) {
            throw new IllegalArgumentException("listen port " + listenPort + " out of range");
        }
    }

    /** True for a transaction that changes nothing ({@code set=1} followed directly by the blank line). */
    public boolean isEmpty() {
        return privateKey == null && listenPort == null && fwmark == null && !replacePeers && peers.isEmpty();
    }

    @Override
    public String toString() {
        return "UapiSet["
                + (privateKey == null ? "" : privateKey instanceof PrivateKeyChange.Clear ? "privateKey=clear, " : "privateKey=set, ")
                + (listenPort == null ? "" : "listenPort=" + listenPort + ", ")
                + (fwmark == null ? "" : "fwmark=" + Integer.toUnsignedString(fwmark) + ", ")
                + (replacePeers ? "replacePeers, " : "")
                + "peers=" + peers + "]";
    }
}
