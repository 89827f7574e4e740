package dev.lattice.derp.transport;

import io.netty.buffer.ByteBuf;

/**
 * One DERP frame off the wire: its type and a retained slice of its payload. The receiver owns the payload and
 * must release it (or pass it on, e.g. to a destination queue, which then owns it).
 */
public record RawFrame(int type, ByteBuf payload) {}
