package dev.lattice.controlclient;

import dev.lattice.wire.ts2021.ControlCipher;
import dev.lattice.wire.ts2021.ControlMessages;
import dev.lattice.wire.ts2021.ControlProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandler;
import io.netty.channel.ChannelPromise;
import io.netty.channel.CoalescingBufferQueue;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.List;

/**
 * Between the socket and HTTP/2: inbound records are checked (type, length ≤ 4093) and decrypted; outbound bytes are
 * sealed into records of at most 4077 plaintext bytes. A bad record is fatal for the connection only.
 *
 * <p>Outbound bytes are held until the flush and then sealed as one stream, so that every record but the last of a
 * flush is full: HTTP/2 writes each frame's 9-byte header and its payload separately, and sealing each write on its
 * own made a record of the header alone and a short record at the end of every payload (six records for a 16 KiB DATA
 * frame instead of four and a bit). Record boundaries mean nothing in the protocol (controlbase reads a byte stream).
 * Inbound, all complete records of one read are opened into one buffer.
 */
public final class NoiseRecordCodec extends ByteToMessageDecoder implements ChannelOutboundHandler {
    /** Pipeline name of an optional read timeout that lasts until the first record arrives. */
    public static final String HANDSHAKE_TIMEOUT_NAME = "ts2021-first-record-timeout";
    /** Plaintext sealed into one buffer for the socket: 16 full records (~64 KiB). */
    static final int RECORDS_PER_WRITE = 16;

    private final ControlCipher rx;
    private final ControlCipher tx;
    /** Written and not yet flushed; counted in the channel's pending bytes (writability), as the encoder's were. */
    private CoalescingBufferQueue pending;
    /** One record's plaintext gathered from the pending buffers, and one record's ciphertext from a direct buffer. */
    private final byte[] scratch = new byte[ControlMessages.MAX_CIPHERTEXT_LEN];

    /**
     * Seals and opens into buffers of the channel's allocator (pooled) when true, fresh arrays when false. A control
     * server sends every byte of every map through here (~13 GB in a storm of 10,000 nodes): as fresh arrays those were
     * a third of its garbage. A client keeps fresh arrays (its few maps do not need a pool held in its heap).
     */
    private final boolean pooled;

    public NoiseRecordCodec(ControlCipher rx, ControlCipher tx) {
        this(rx, tx, false);
    }

    /** @param pooled seal and open into buffers of the channel's allocator rather than fresh arrays */
    public NoiseRecordCodec(ControlCipher rx, ControlCipher tx, boolean pooled) {
        this.rx = rx;
        this.tx = tx;
        this.pooled = pooled;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        pending = new CoalescingBufferQueue(ctx.channel(), 4, true);
        super.handlerAdded(ctx);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        pending.releaseAndFailAll(new ClosedChannelException());
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf b) {
            pending.add(b, promise);
        } else {
            // Nothing else goes through here; anything that does keeps its place behind the bytes before it.
            sealPending(ctx);
            ctx.write(msg, promise);
        }
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        sealPending(ctx);
        ctx.flush();
    }

    private void sealPending(ChannelHandlerContext ctx) {
        while (!pending.isEmpty()) {
            ChannelPromise p = ctx.newPromise();
            ByteBuf plain = pending.remove(ctx.alloc(), RECORDS_PER_WRITE * ControlMessages.MAX_PLAINTEXT_LEN, p);
            ByteBuf sealed;
            try {
                sealed = seal(ctx, plain);
            } catch (RuntimeException e) {
                p.setFailure(e);
                throw e;
            } finally {
                plain.release();
            }
            ctx.write(sealed, p);
        }
    }

    /** {@code plain} as consecutive records, all full but the last. */
    private ByteBuf seal(ChannelHandlerContext ctx, ByteBuf plain) {
        int len = plain.readableBytes();
        if (len == 0) return Unpooled.EMPTY_BUFFER;
        int max = ControlMessages.MAX_PLAINTEXT_LEN;
        int records = (len + max - 1) / max;
        int size = len + records * (ControlMessages.HEADER_LEN + ControlMessages.TAG_LEN);
        ByteBuf sealed = buffer(ctx, size);
        try {
            byte[] out = sealed.array();
            int base = sealed.arrayOffset() + sealed.writerIndex();
            int o = 0;
            while (plain.isReadable()) {
                int n = Math.min(plain.readableBytes(), max);
                if (plain.hasArray()) {
                    o += tx.sealRecordInto(plain.array(), plain.arrayOffset() + plain.readerIndex(), n, out, base + o);
                    plain.skipBytes(n);
                } else {
                    plain.readBytes(scratch, 0, n);
                    o += tx.sealRecordInto(scratch, 0, n, out, base + o);
                }
            }
            sealed.writerIndex(sealed.writerIndex() + o);
            return sealed;
        } catch (RuntimeException e) {
            sealed.release();
            throw e;
        }
    }

    /** An empty buffer with an array of room for {@code size} bytes: pooled, or a fresh array. */
    private ByteBuf buffer(ChannelHandlerContext ctx, int size) {
        if (pooled) {
            ByteBuf b = ctx.alloc().heapBuffer(size, size);
            if (b.hasArray()) return b;
            b.release();
        }
        return Unpooled.wrappedBuffer(new byte[size]).clear();
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        try {
            boolean any = decodeRecords(ctx, in, out);
            if (any && ctx.pipeline().get(HANDSHAKE_TIMEOUT_NAME) != null) ctx.pipeline().remove(HANDSHAKE_TIMEOUT_NAME);
        } catch (ControlProtocolException e) {
            // Fatal for this connection only; handled here so HTTP/2 never sees a half-broken stream.
            in.skipBytes(in.readableBytes());
            org.slf4j.LoggerFactory.getLogger(NoiseRecordCodec.class).debug("closing control connection from {}: {}",
                    ctx.channel().remoteAddress(), e.getMessage());
            ctx.close();
        }
    }

    /** Opens every complete record in {@code in} into one buffer; true if there was at least one. */
    private boolean decodeRecords(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws ControlProtocolException {
        int records = 0;
        int plainLen = 0;
        for (int at = in.readerIndex(); in.writerIndex() - at >= ControlMessages.HEADER_LEN; ) {
            int type = in.getUnsignedByte(at);
            int len = in.getUnsignedShort(at + 1);
            if (type != ControlMessages.TYPE_RECORD) throw new ControlProtocolException("unexpected message type " + type);
            if (len > ControlMessages.MAX_CIPHERTEXT_LEN) throw new ControlProtocolException("record too long: " + len);
            if (len < ControlMessages.TAG_LEN) throw new ControlProtocolException("record of invalid length " + len);
            if (in.writerIndex() - at - ControlMessages.HEADER_LEN < len) break;
            records++;
            plainLen += len - ControlMessages.TAG_LEN;
            at += ControlMessages.HEADER_LEN + len;
        }
        if (records == 0) return false;
        ByteBuf opened = buffer(ctx, plainLen);
        try {
            byte[] plain = opened.array();
            int base = opened.arrayOffset() + opened.writerIndex();
            int o = 0;
            for (int i = 0; i < records; i++) {
                int len = in.getUnsignedShort(in.readerIndex() + 1);
                in.skipBytes(ControlMessages.HEADER_LEN);
                if (in.hasArray()) {
                    o += rx.openRecordInto(in.array(), in.arrayOffset() + in.readerIndex(), len, plain, base + o);
                } else {
                    in.getBytes(in.readerIndex(), scratch, 0, len);
                    o += rx.openRecordInto(scratch, 0, len, plain, base + o);
                }
                in.skipBytes(len);
            }
            opened.writerIndex(opened.writerIndex() + o);
        } catch (ControlProtocolException | RuntimeException e) {
            opened.release();
            throw e;
        }
        // Records without plaintext are opened all the same (their tags checked, the nonces counted).
        if (plainLen > 0) out.add(opened);
        else opened.release();
        return true;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        pending.releaseAndFailAll(new ClosedChannelException());
        super.channelInactive(ctx);
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        // Bytes written but never flushed do not go out (as with any handler before the socket): their writes fail.
        pending.releaseAndFailAll(new ClosedChannelException());
        ctx.close(promise);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        org.slf4j.LoggerFactory.getLogger(NoiseRecordCodec.class).debug("closing control connection from {}: {}",
                ctx.channel().remoteAddress(), c.toString());
        ctx.close();
    }

    // The rest of the outbound side passes through.

    @Override
    public void bind(ChannelHandlerContext ctx, SocketAddress local, ChannelPromise promise) {
        ctx.bind(local, promise);
    }

    @Override
    public void connect(ChannelHandlerContext ctx, SocketAddress remote, SocketAddress local, ChannelPromise promise) {
        ctx.connect(remote, local, promise);
    }

    @Override
    public void disconnect(ChannelHandlerContext ctx, ChannelPromise promise) {
        ctx.disconnect(promise);
    }

    @Override
    public void deregister(ChannelHandlerContext ctx, ChannelPromise promise) {
        ctx.deregister(promise);
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        ctx.read();
    }
}
