package dev.lattice.wireguard.conn;

import java.io.IOException;

/** The device's datagram transport: the FFM UDP socket in production, an in-memory network in tests. */
public interface UdpTransport extends AutoCloseable {
    /** Opens a transport bound to {@code port} (0 = any). */
    interface Factory {
        UdpTransport open(int port) throws IOException;
    }

    int port();

    void setMark(int mark) throws IOException;

    /**
     * One datagram into {@code buf[off..off+max)}, its source as a 28-byte sockaddr_in6 into {@code src};
     * returns the length, or -1 when the timeout passes first.
     */
    int receive(byte[] buf, int off, int max, byte[] src, int[] srcLen, int timeoutMillis) throws IOException;

    boolean send(byte[] buf, int off, int len, Endpoint to);

    @Override
    void close();
}
