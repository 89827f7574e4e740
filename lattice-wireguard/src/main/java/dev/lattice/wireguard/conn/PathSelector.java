package dev.lattice.wireguard.conn;

import dev.lattice.crypto.key.NodePublicKey;

/**
 * Lets a layer above the device choose, packet by packet, how each peer is reached: Tailscale's magic socket,
 * which sends to a peer over a direct UDP path once disco has proven one and over DERP otherwise.
 *
 * <p>A peer takes part when its endpoint is {@link Endpoint#virtual()}; peers with ordinary endpoints (plain
 * WireGuard) are sent to directly as before. The same UDP socket carries WireGuard, disco and STUN, so datagrams
 * the device does not recognise as WireGuard are offered to {@link #receiveOther}.
 *
 * <p>All methods run on the device's packet threads: they must be quick and must not block.
 */
public interface PathSelector {
    /** The UDP endpoint to use for {@code peer} now, or null to hand the datagram to {@link #sendIndirect}. */
    Endpoint directPath(NodePublicKey peer);

    /** Sends an encrypted WireGuard datagram to {@code peer} by other means (DERP); false if it was dropped. */
    boolean sendIndirect(NodePublicKey peer, byte[] buf, int off, int len);

    /**
     * A datagram on the UDP socket that is not WireGuard (disco, STUN replies). Returns true if it was
     * consumed; the array is reused after the call returns.
     */
    boolean receiveOther(byte[] buf, int off, int len, byte[] srcSockaddr);

    /**
     * An authenticated WireGuard packet from {@code peer} arrived, from a UDP source (28-byte sockaddr) or,
     * for packets handed in by {@code Device.receiveIndirect}, from {@link Endpoint#virtual()}.
     */
    default void authenticatedReceive(NodePublicKey peer, byte[] srcSockaddr) {}
}
