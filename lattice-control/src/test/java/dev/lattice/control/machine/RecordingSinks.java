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
    /** The zstd frame (length prefix first) a stream with zstd is sent for {@code m}. */
    public static byte[] zstdFrame(EncodedMapResponse m) {
        return m.frame(true);
    }

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

    /**
     * A stream whose client does not read: every message written stays queued (its buffer held, its write not
     * complete) until {@link Held#drain}. {@code held} counts the bytes queued now.
     */
    public record Held(MapSink sink, EmbeddedChannel channel, java.util.concurrent.atomic.AtomicLong held,
            java.util.concurrent.atomic.AtomicInteger messages, List<Runnable> queued) {
        /** The client reads everything queued so far. */
        public synchronized void drain() {
            List<Runnable> all = List.copyOf(queued);
            queued.removeAll(all);
            all.forEach(Runnable::run);
        }
    }

    /** @param total bytes queued over all held streams */
    public static Held held(java.util.concurrent.atomic.AtomicLong total) {
        java.util.concurrent.atomic.AtomicLong mine = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicInteger messages = new java.util.concurrent.atomic.AtomicInteger();
        List<Runnable> queued = new CopyOnWriteArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                if (!(msg instanceof HttpContent c) || !c.content().isReadable()) {
                    ReferenceCountUtil.release(msg);
                    promise.setSuccess();
                    return;
                }
                long n = c.content().readableBytes();
                mine.addAndGet(n);
                total.addAndGet(n);
                messages.incrementAndGet();
                queued.add(() -> {
                    mine.addAndGet(-n);
                    total.addAndGet(-n);
                    ReferenceCountUtil.release(msg);
                    promise.setSuccess();
                });
            }
        });
        return new Held(new MapSink(ch, true), ch, mine, messages, queued);
    }
}
