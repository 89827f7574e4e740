package dev.lattice.agent.tstun;

import dev.lattice.wireguard.tun.TunDevice;
import java.util.Arrays;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A TUN stand-in: tests queue what the host "sends" and collect what is written towards the host. */
final class MemoryTun implements TunDevice {
    final LinkedBlockingQueue<byte[]> fromHost = new LinkedBlockingQueue<>();
    final LinkedBlockingQueue<byte[]> toHost = new LinkedBlockingQueue<>();
    private final boolean vnet;

    MemoryTun(boolean vnet) {
        this.vnet = vnet;
    }

    @Override
    public String name() {
        return "mem0";
    }

    @Override
    public int mtu() {
        return 1280;
    }

    @Override
    public boolean vnetHdr() {
        return vnet;
    }

    @Override
    public int read(byte[] buf, int off, int max, int timeoutMillis) {
        try {
            byte[] p = fromHost.poll(Math.max(0, timeoutMillis), TimeUnit.MILLISECONDS);
            if (p == null) return 0;
            System.arraycopy(p, 0, buf, off, p.length);
            return p.length;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    @Override
    public void write(byte[] buf, int off, int len) {
        toHost.add(Arrays.copyOfRange(buf, off, off + len));
    }

    @Override
    public void close() {}
}
