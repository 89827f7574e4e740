package dev.lattice.wireguard.device;

import dev.lattice.wireguard.tun.TunDevice;
import java.util.Arrays;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A TUN stand-in: tests inject packets the "kernel" sends and collect packets the device delivers. */
final class MemoryTun implements TunDevice {
    final LinkedBlockingQueue<byte[]> outbound = new LinkedBlockingQueue<>();
    final LinkedBlockingQueue<byte[]> delivered = new LinkedBlockingQueue<>();
    private final String name;
    volatile int mtu = 1420;

    MemoryTun(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public int read(byte[] buf, int off, int max, int timeoutMillis) {
        try {
            byte[] p = outbound.poll(timeoutMillis, TimeUnit.MILLISECONDS);
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
        delivered.add(Arrays.copyOfRange(buf, off, off + len));
    }

    byte[] awaitDelivered(long millis) throws InterruptedException {
        return delivered.poll(millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {}
}
