package dev.lattice.agent.testing;

import dev.lattice.wireguard.tun.TunDevice;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A TUN stand-in for the agent's tests: the test queues what the host "sends" ({@link #fromHost}, read by the
 * device) and collects what is written towards the host ({@link #toHost}).
 */
public final class MemoryTun implements TunDevice {
    public final LinkedBlockingQueue<byte[]> fromHost = new LinkedBlockingQueue<>();
    public final LinkedBlockingQueue<byte[]> toHost = new LinkedBlockingQueue<>();
    private final String name;
    private final boolean vnet;

    public MemoryTun(String name, boolean vnet) {
        this.name = name;
        this.vnet = vnet;
    }

    @Override
    public String name() {
        return name;
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
            byte[] p = timeoutMillis < 0 ? fromHost.take() : fromHost.poll(timeoutMillis, TimeUnit.MILLISECONDS);
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

    /** The next packet written towards the host, or null after {@code millis}. */
    public byte[] awaitToHost(long millis) throws InterruptedException {
        return toHost.poll(millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {}

    /** A minimal UDP-in-IPv4 packet carrying {@code marker}, enough for the device's allowed-IPs checks. */
    public static byte[] ipv4(String src, String dst, int marker) throws Exception {
        byte[] p = new byte[32];
        p[0] = 0x45;
        p[3] = (byte) p.length;
        p[8] = 64;
        p[9] = 17;
        System.arraycopy(InetAddress.getByName(src).getAddress(), 0, p, 12, 4);
        System.arraycopy(InetAddress.getByName(dst).getAddress(), 0, p, 16, 4);
        p[28] = (byte) (marker >>> 24);
        p[29] = (byte) (marker >>> 16);
        p[30] = (byte) (marker >>> 8);
        p[31] = (byte) marker;
        return p;
    }
}
