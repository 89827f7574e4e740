package dev.lattice.control.machine;

import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.ts2021.MapStreamFraming;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import dev.lattice.guard.Http2Watch;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The response side of one {@code /machine/map} request: MapResponses written as length-prefixed (zstd) messages
 * on the request's HTTP/2 stream. Thread-safe; writes are handed to the stream's event loop.
 */
public final class MapSink {
    private final Channel stream;
    private final boolean zstd;
    private final AtomicBoolean headersSent = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CopyOnWriteArrayList<Runnable> onClose = new CopyOnWriteArrayList<>();

    MapSink(Channel stream, boolean zstd) {
        this.stream = stream;
        this.zstd = zstd;
        stream.closeFuture().addListener(f -> fireClosed());
    }

    /** Serializes and sends one message; returns false if the stream is gone. */
    public boolean send(MapResponse msg) {
        return sendJson(Tailcfg.json().writeValueAsBytes(msg));
    }

    /** Sends an already serialized MapResponse (shared by many sessions). */
    public boolean sendJson(byte[] json) {
        return sendFramed(() -> Unpooled.wrappedBuffer(MapStreamFraming.frame(json, zstd)));
    }

    /** Sends a message encoded once for many streams: its frame is made once per kind (zstd or not), not per stream. */
    public boolean send(EncodedMapResponse msg) {
        return sendFramed(() -> msg.buffer(zstd), null);
    }

    /**
     * As {@link #send(EncodedMapResponse)}, running {@code written} exactly once when the message has left for the
     * connection, failed, or was not sent at all.
     */
    public boolean send(EncodedMapResponse msg, Runnable written) {
        return sendFramed(() -> msg.buffer(zstd), written);
    }

    /** Whether this stream asked for zstd (what {@link EncodedMapResponse#length} of a message sent here is). */
    public boolean zstd() {
        return zstd;
    }

    private boolean sendFramed(java.util.function.Supplier<io.netty.buffer.ByteBuf> frame) {
        return sendFramed(frame, null);
    }

    private boolean sendFramed(java.util.function.Supplier<io.netty.buffer.ByteBuf> frame, Runnable written) {
        boolean sent = false;
        try {
            sent = write(frame, written);
            return sent;
        } finally {
            if (!sent && written != null) written.run();
        }
    }

    private boolean write(java.util.function.Supplier<io.netty.buffer.ByteBuf> frame, Runnable written) {
        if (closed.get() || !stream.isActive()) return false;
        if (stalled()) {
            // Everything we write is buffered here until the client reads: one that stopped reading would hold an
            // ever-growing share of the heap. It gets a full map when it reconnects.
            stream.close();
            return false;
        }
        // A buffer over the message's arrays (a full map's shared peer frames by reference): a stream that reads
        // slowly holds its own head and tail, not a copy of the whole map.
        io.netty.buffer.ByteBuf framed = frame.get();
        sendHeaders();
        var f = stream.writeAndFlush(new DefaultHttpContent(framed));
        if (written != null) f.addListener(x -> written.run());
        return true;
    }

    /** Whether the peer is reading fast enough; a session may skip intermediate updates while not. */
    public boolean isWritable() {
        return stream.isWritable();
    }

    /** A client that has not read for this long while we had something for it is given up. */
    static final long WRITE_DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(60);
    private volatile long unwritableSince; // 0 while writable

    /** True once the stream has stayed unwritable for the write deadline. */
    private boolean stalled() {
        if (stream.isWritable()) {
            unwritableSince = 0;
            return false;
        }
        long now = System.nanoTime();
        long since = unwritableSince;
        if (since == 0) {
            unwritableSince = now;
            return false;
        }
        return now - since > WRITE_DEADLINE_NANOS;
    }

    public boolean isOpen() {
        return !closed.get() && stream.isActive();
    }

    /** Ends the response (an empty 200 if nothing was sent). */
    public void finish() {
        if (closed.get()) return;
        sendHeaders();
        stream.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(f -> stream.close());
    }

    /** Fails the request with a status and text, if no response has started yet; otherwise just closes. */
    public void fail(int status, String text) {
        if (headersSent.compareAndSet(false, true)) {
            var r = dev.lattice.control.http.HttpResponses.text(HttpResponseStatus.valueOf(status), text);
            stream.writeAndFlush(r).addListener(f -> stream.close());
        } else {
            stream.close();
        }
    }

    /**
     * Runs {@code r} exactly once when the stream closes (client went away, connection dropped, or finish()); at once
     * if it already has.
     */
    public void onClose(Runnable r) {
        AtomicBoolean ran = new AtomicBoolean();
        Runnable once = () -> {
            if (ran.compareAndSet(false, true)) r.run();
        };
        onClose.add(once);
        if (closed.get()) once.run();
    }

    /**
     * An HTTP/2 PING on the connection this stream belongs to, which must be acknowledged within {@code timeout} or
     * the connection is closed (and with it this stream). Completes with the round trip.
     */
    public CompletableFuture<Duration> ping(Duration timeout) {
        Http2Watch w = Http2Watch.of(stream);
        if (w == null) return CompletableFuture.failedFuture(new IllegalStateException("not an HTTP/2 stream"));
        return w.ping(timeout);
    }

    /** Sends the response headers now, before any message (a no-op once they have gone). */
    public void start() {
        if (closed.get() || !stream.isActive()) return;
        sendHeaders();
        stream.flush();
    }

    private void sendHeaders() {
        if (headersSent.compareAndSet(false, true)) {
            HttpResponse h = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            h.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
            stream.write(h);
        }
    }

    private void fireClosed() {
        if (closed.compareAndSet(false, true)) {
            for (Runnable r : onClose) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    org.slf4j.LoggerFactory.getLogger(MapSink.class).warn("map stream close hook failed", e);
                }
            }
        }
    }
}
