package dev.lattice.control.machine;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Map sinks that keep every frame written (length prefix and zstd body, exactly as a client would read it). */
public final class RecordingSinks {
    private RecordingSinks() {}

    /** A sink, its channel (close it to end the stream) and the frames written so far, in order. */
    public record Stream(MapSink sink, EmbeddedChannel channel, List<byte[]> frames) {}

    public static Stream stream() {
        List<byte[]> frames = new CopyOnWriteArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                if (msg instanceof HttpContent c && c.content().isReadable()) {
                    ByteBuf b = c.content();
                    frames.add(ByteBufUtil.getBytes(b));
                }
                ReferenceCountUtil.release(msg);
                promise.setSuccess();
            }
        });
        return new Stream(new MapSink(ch, true), ch, frames);
    }
}
