package dev.lattice.controlclient;

import dev.lattice.wire.ts2021.MapStreamFraming;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http2.Http2StreamChannel;

/** A long-poll {@code /machine/map} response being read: length-prefixed, optionally zstd, MapResponse messages. */
public final class MapStream implements AutoCloseable {
    /** Callbacks run on the connection's event loop; keep them short. */
    public interface Listener {
        void onMessage(byte[] json);

        default void onStatus(int status) {}

        default void onClose(Throwable cause) {}
    }

    private final Http2StreamChannel stream;
    private final Handler handler;

    MapStream(Http2StreamChannel stream, Handler handler) {
        this.stream = stream;
        this.handler = handler;
    }

    public int status() {
        return handler.status;
    }

    @Override
    public void close() {
        stream.close();
    }

    static final class Handler extends ChannelInboundHandlerAdapter {
        private final boolean zstd;
        private final Listener listener;
        private ByteBuf buf = Unpooled.buffer();
        /** A message buffer larger than this is let go once empty: a full map (megabytes) is rare, streams are long. */
        static final int KEEP_CAPACITY = 64 << 10;
        private volatile int status;
        private boolean closed;

        Handler(boolean zstd, Listener listener) {
            this.zstd = zstd;
            this.listener = listener;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            try {
                if (msg instanceof HttpResponse r) {
                    status = r.status().code();
                    listener.onStatus(status);
                }
                if (msg instanceof HttpContent c) {
                    buf.writeBytes(c.content());
                    while (buf.readableBytes() >= 4) {
                        byte[] hdr = new byte[4];
                        buf.getBytes(buf.readerIndex(), hdr);
                        int len = MapStreamFraming.length(hdr, 0);
                        if (buf.readableBytes() < 4 + len) break;
                        buf.skipBytes(4);
                        byte[] body = new byte[len];
                        buf.readBytes(body);
                        listener.onMessage(zstd ? MapStreamFraming.decompress(body) : body);
                    }
                    if (!buf.isReadable() && buf.capacity() > KEEP_CAPACITY) {
                        // discardReadBytes keeps the capacity: every stream held its largest message (a full map of
                        // 10,000 peers: 2 MiB) for as long as it lived. A storm bench of 10,000 streams ran out of heap.
                        buf.release();
                        buf = Unpooled.buffer();
                    } else {
                        buf.discardReadBytes();
                    }
                }
            } finally {
                io.netty.util.ReferenceCountUtil.release(msg);
            }
        }

        /** What the message buffer holds on to now (tests). */
        int bufferCapacity() {
            return buf.capacity();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(null);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(cause);
            ctx.close();
        }

        private void finish(Throwable cause) {
            if (closed) return;
            closed = true;
            buf.release();
            listener.onClose(cause);
        }
    }
}
