package dev.lattice.derp.transport;

import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.derp.Derp;
import dev.lattice.wire.derp.DerpFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;

/** Builds outgoing frames as ByteBufs; packet frames carry the payload without copying it. */
public final class Frames {
    private Frames() {}

    public static ByteBuf of(DerpFrame f) {
        return Unpooled.wrappedBuffer(f.encode());
    }

    /**
     * A header plus keys for a packet frame (SendPacket, RecvPacket, ForwardPacket); the caller writes the packet
     * bytes right after it. {@code keys} are written in order.
     */
    public static ByteBuf packetHeader(ByteBufAllocator alloc, int type, int packetLen, NodePublicKey... keys) {
        int len = Derp.KEY_LEN * keys.length + packetLen;
        ByteBuf b = alloc.buffer(Derp.FRAME_HEADER_LEN + Derp.KEY_LEN * keys.length);
        b.writeByte(type);
        b.writeInt(len);
        byte[] raw = new byte[Derp.KEY_LEN];
        for (NodePublicKey k : keys) {
            k.copyTo(raw, 0);
            b.writeBytes(raw);
        }
        return b;
    }

    /** Reads a 32-byte key at the reader index without moving it. */
    public static NodePublicKey keyAt(ByteBuf b, int index) {
        byte[] raw = new byte[Derp.KEY_LEN];
        b.getBytes(index, raw);
        return new NodePublicKey(raw);
    }

    /** Like {@link Derp#looksLikeDisco} over a ByteBuf region. */
    public static boolean looksLikeDisco(ByteBuf b, int index, int len) {
        if (len < Derp.discoMinLength()) return false;
        byte[] m = DISCO_MAGIC;
        for (int i = 0; i < m.length; i++) if (b.getByte(index + i) != m[i]) return false;
        return true;
    }

    private static final byte[] DISCO_MAGIC = Derp.discoMagic();

    public static byte[] copy(ByteBuf b) {
        byte[] out = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), out);
        return out;
    }

    public static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
