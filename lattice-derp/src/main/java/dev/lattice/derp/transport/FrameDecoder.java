package dev.lattice.derp.transport;

import dev.lattice.wire.derp.Derp;
import dev.lattice.wire.derp.DerpProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits a DERP byte stream into {@link RawFrame}s. A header announcing more than {@code maxFrameLength} is
 * refused as soon as its 5 bytes arrive, before anything is buffered, so a lying length costs nothing; after
 * that the decoder swallows all further input (the connection is being closed).
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    private final int maxFrameLength;
    private boolean failed;

    public FrameDecoder(int maxFrameLength) {
        this.maxFrameLength = maxFrameLength;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (in.readableBytes() < Derp.FRAME_HEADER_LEN) return;
        int r = in.readerIndex();
        int type = in.getUnsignedByte(r);
        long len = in.getUnsignedInt(r + 1);
        if (len > maxFrameLength) {
            failed = true;
            in.skipBytes(in.readableBytes());
            throw new DerpProtocolException("frame " + Derp.frameName(type) + " of " + len + " bytes exceeds the limit of " + maxFrameLength);
        }
        if (in.readableBytes() < Derp.FRAME_HEADER_LEN + len) return;
        in.skipBytes(Derp.FRAME_HEADER_LEN);
        out.add(new RawFrame(type, in.readRetainedSlice((int) len)));
    }
}
