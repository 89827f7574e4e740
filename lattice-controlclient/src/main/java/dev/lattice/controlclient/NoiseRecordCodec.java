package dev.lattice.controlclient;

import dev.lattice.wire.ts2021.ControlCipher;
import dev.lattice.wire.ts2021.ControlMessages;
import dev.lattice.wire.ts2021.ControlProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageCodec;
import io.netty.handler.codec.DecoderException;
import java.util.List;

/**
 * Between the socket and HTTP/2: inbound records are checked (type, length ≤ 4093) and decrypted; outbound bytes are
 * cut into records of at most 4077 plaintext bytes and encrypted. A bad record is fatal for the connection only.
 */
public final class NoiseRecordCodec extends ByteToMessageCodec<ByteBuf> {
    /** Pipeline name of an optional read timeout that lasts until the first record arrives. */
    public static final String HANDSHAKE_TIMEOUT_NAME = "ts2021-first-record-timeout";

    private final ControlCipher rx;
    private final ControlCipher tx;

    public NoiseRecordCodec(ControlCipher rx, ControlCipher tx) {
        super(ByteBuf.class);
        this.rx = rx;
        this.tx = tx;
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, ByteBuf msg, ByteBuf out) {
        int n = msg.readableBytes();
        byte[] chunk = new byte[Math.min(n, ControlMessages.MAX_PLAINTEXT_LEN)];
        while (msg.isReadable()) {
            int len = Math.min(msg.readableBytes(), ControlMessages.MAX_PLAINTEXT_LEN);
            msg.readBytes(chunk, 0, len);
            out.writeBytes(tx.sealRecord(chunk, 0, len));
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        try {
            decodeRecords(in, out);
            if (!out.isEmpty() && ctx.pipeline().get(HANDSHAKE_TIMEOUT_NAME) != null) ctx.pipeline().remove(HANDSHAKE_TIMEOUT_NAME);
        } catch (ControlProtocolException e) {
            // Fatal for this connection only; handled here so HTTP/2 never sees a half-broken stream.
            in.skipBytes(in.readableBytes());
            org.slf4j.LoggerFactory.getLogger(NoiseRecordCodec.class).debug("closing control connection from {}: {}",
                    ctx.channel().remoteAddress(), e.getMessage());
            ctx.close();
        }
    }

    private void decodeRecords(ByteBuf in, List<Object> out) throws ControlProtocolException {
        while (in.readableBytes() >= ControlMessages.HEADER_LEN) {
            int ri = in.readerIndex();
            int type = in.getUnsignedByte(ri);
            int len = in.getUnsignedShort(ri + 1);
            if (type != ControlMessages.TYPE_RECORD) throw new ControlProtocolException("unexpected message type " + type);
            if (len > ControlMessages.MAX_CIPHERTEXT_LEN) throw new ControlProtocolException("record too long: " + len);
            if (in.readableBytes() < ControlMessages.HEADER_LEN + len) return;
            in.skipBytes(ControlMessages.HEADER_LEN);
            byte[] ct = new byte[len];
            in.readBytes(ct);
            out.add(Unpooled.wrappedBuffer(rx.openRecord(ct)));
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        org.slf4j.LoggerFactory.getLogger(NoiseRecordCodec.class).debug("closing control connection from {}: {}",
                ctx.channel().remoteAddress(), c.toString());
        ctx.close();
    }
}
