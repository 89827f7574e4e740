package dev.lattice.derp.stun;

import dev.lattice.wire.stun.Stun;
import dev.lattice.wire.stun.StunException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;

/**
 * Asks a STUN server for this socket's public address, sending Tailscale's binding request and retrying a few
 * times (UDP loses packets). The agent normally does this over its WireGuard socket with the codecs in
 * {@code dev.lattice.wire.stun}; this class is for standalone checks and tests.
 */
public final class StunClient {
    private StunClient() {}

    /** From a fresh ephemeral socket. */
    public static InetSocketAddress query(InetSocketAddress server, Duration timeout) throws IOException {
        try (DatagramChannel ch = DatagramChannel.open()) {
            ch.bind(new InetSocketAddress(server.getAddress() != null && server.getAddress().isLoopbackAddress()
                    ? server.getAddress() : null, 0));
            return query(ch, server, timeout, 3);
        }
    }

    /**
     * Sends up to {@code attempts} requests on {@code ch} (blocking mode), each waiting {@code timeout} for the
     * matching response; other datagrams are skipped.
     */
    public static InetSocketAddress query(DatagramChannel ch, InetSocketAddress server, Duration timeout, int attempts)
            throws IOException {
        ch.configureBlocking(true);
        ByteBuffer buf = ByteBuffer.allocate(2048);
        for (int i = 0; i < attempts; i++) {
            Stun.TxId tx = Stun.TxId.random();
            ch.send(ByteBuffer.wrap(Stun.request(tx)), server);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                buf.clear();
                if (!receive(ch, buf, deadline)) break;
                try {
                    Stun.BindingResponse r = Stun.parseResponse(buf.array(), buf.position());
                    if (r.txId().equals(tx)) return r.mapped();
                } catch (StunException e) {
                    // not for us
                }
            }
        }
        throw new SocketTimeoutException("no STUN response from " + server);
    }

    private static boolean receive(DatagramChannel ch, ByteBuffer buf, long deadline) throws IOException {
        // DatagramChannel has no receive timeout; use its socket adaptor's.
        long ms = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        ch.socket().setSoTimeout((int) Math.min(Integer.MAX_VALUE, ms));
        java.net.DatagramPacket p = new java.net.DatagramPacket(buf.array(), buf.capacity());
        try {
            ch.socket().receive(p);
        } catch (SocketTimeoutException e) {
            return false;
        }
        buf.position(p.getLength());
        return true;
    }
}
