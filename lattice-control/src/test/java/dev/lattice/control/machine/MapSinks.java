package dev.lattice.control.machine;

import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.ts2021.MapStreamFraming;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;

/** Map sinks for tests that read what a session was sent: each message decoded back into a MapResponse. */
public final class MapSinks {
    private MapSinks() {}

    /** A zstd stream that keeps what it is sent (the framed bytes, decoded on demand). */
    public static final class Recording {
        private final List<byte[]> frames = new ArrayList<>();
        private final MapSink sink;

        private Recording() {
            EmbeddedChannel ch = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
                @Override
                public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                    if (msg instanceof HttpContent c && c.content().isReadable()) {
                        ByteBuf b = c.content();
                        synchronized (frames) {
                            frames.add(ByteBufUtil.getBytes(b));
                        }
                    }
                    ReferenceCountUtil.release(msg);
                    promise.setSuccess();
                }
            });
            sink = new MapSink(ch, true);
        }

        public MapSink sink() {
            return sink;
        }

        public void clear() {
            synchronized (frames) {
                frames.clear();
            }
        }

        /** The messages sent so far, in order. */
        public List<MapResponse> messages() {
            List<byte[]> copy;
            synchronized (frames) {
                copy = List.copyOf(frames);
            }
            List<MapResponse> out = new ArrayList<>();
            try {
                for (byte[] f : copy) {
                    int len = MapStreamFraming.length(f, 0);
                    byte[] body = java.util.Arrays.copyOfRange(f, 4, 4 + len);
                    out.add(Tailcfg.json().readValue(MapStreamFraming.decompress(body), MapResponse.class));
                }
            } catch (dev.lattice.wire.ts2021.ControlProtocolException e) {
                throw new AssertionError("a message that does not decode", e);
            }
            return out;
        }
    }

    public static Recording recording() {
        return new Recording();
    }
}
