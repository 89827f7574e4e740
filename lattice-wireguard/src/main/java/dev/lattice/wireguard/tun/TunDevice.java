package dev.lattice.wireguard.tun;

import java.io.IOException;

/** The device's packet interface: a TUN in production, an in-memory pipe in tests. */
public interface TunDevice extends AutoCloseable {
    String name();

    int mtu() throws IOException;

    /** True when every packet read or written is preceded by a 10-byte virtio_net_hdr (offload mode). */
    default boolean vnetHdr() {
        return false;
    }

    /** One IP packet into {@code buf[off..off+max)}; 0 when the timeout passes first (-1 = wait forever). */
    int read(byte[] buf, int off, int max, int timeoutMillis) throws IOException;

    void write(byte[] buf, int off, int len) throws IOException;

    @Override
    void close();
}
