package dev.lattice.control.machine;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.LongAdder;

/**
 * Map sinks for benchmarks: each writes into its own in-memory channel that counts the framed (zstd) bytes and
 * messages and drops them, so thousands of sessions cost only what the server does to produce their updates.
 */
public final class CountingSinks {
    private CountingSinks() {}

    public static MapSink open(LongAdder bytes, LongAdder messages) {
        return stream(bytes, messages).sink();
    }

    /** A sink with its channel, whose {@code close()} ends the stream as a client going away does. */
    public record Stream(MapSink sink, EmbeddedChannel channel) {}

    public static Stream stream(LongAdder bytes, LongAdder messages) {
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                if (msg instanceof HttpContent c && c.content().isReadable()) {
                    ByteBuf b = c.content();
                    bytes.add(b.readableBytes());
                    messages.increment();
                }
                ReferenceCountUtil.release(msg);
                promise.setSuccess();
            }
        });
        return new Stream(new MapSink(ch, true), ch);
    }
}
