package dev.lattice.derp.client;

import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.derp.DerpFrame;

/**
 * Receives what a {@link DerpClient} hears. Called on the connection's event loop: return quickly, never block.
 * Every method has an empty default.
 */
public interface DerpClientListener {
    /** A packet relayed from {@code src}. The array is the listener's to keep. */
    default void onPacket(NodePublicKey src, byte[] packet) {}

    /** The server no longer has a path to {@code peer} ({@code Derp.PEER_GONE_*}). */
    default void onPeerGone(NodePublicKey peer, int reason) {}

    /** Mesh watchers: a client connected to the server. */
    default void onPeerPresent(DerpFrame.PeerPresent present) {}

    /** Handshake done (ServerInfo received); {@code generation} counts connections, starting at 1. */
    default void onConnected(NodePublicKey serverKey, int generation) {}

    /** The connection ended (or an attempt failed); the client reconnects if so configured. */
    default void onDisconnected(Throwable cause) {}

    /** Non-empty: the server says this connection has a problem; empty: healthy again. */
    default void onHealth(String problem) {}

    /** The server is restarting; the client waits {@code reconnectInMillis} before its next attempt. */
    default void onRestarting(long reconnectInMillis, long tryForMillis) {}

    default void onPong(byte[] data) {}
}
