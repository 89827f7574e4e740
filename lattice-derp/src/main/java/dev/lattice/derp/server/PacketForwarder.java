package dev.lattice.derp.server;

import dev.lattice.crypto.key.NodePublicKey;
import io.netty.buffer.ByteBuf;

/**
 * Carries a packet to another server of the region whose client is {@code dst} (a mesh connection). Takes
 * ownership of {@code packet}: it must release it. Must not block.
 */
public interface PacketForwarder {
    void forwardPacket(NodePublicKey src, NodePublicKey dst, ByteBuf packet);
}
