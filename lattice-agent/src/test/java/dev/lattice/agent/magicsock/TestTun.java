package dev.lattice.agent.magicsock;

import dev.lattice.wireguard.tun.TunDevice;
import java.net.InetAddress;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** An in-memory TUN: the test puts packets in {@code outbound} (to the device) and takes them from {@code delivered}. */
final class TestTun implements TunDevice {
    final LinkedBlockingQueue<byte[]> outbound = new LinkedBlockingQueue<>();
    final LinkedBlockingQueue<byte[]> delivered = new LinkedBlockingQueue<>();
    private final String name;

    TestTun(String name) {
        this.name = name;
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
    public int read(byte[] buf, int off, int max, int timeoutMillis) {
        try {
            byte[] p = timeoutMillis < 0 ? outbound.take() : outbound.poll(timeoutMillis, TimeUnit.MILLISECONDS);
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
        delivered.add(java.util.Arrays.copyOfRange(buf, off, off + len));
    }

    byte[] awaitDelivered(long millis) throws InterruptedException {
        return delivered.poll(millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {}

    /** A minimal UDP-in-IPv4 packet carrying {@code marker}, enough for the device's allowed-IPs checks. */
    static byte[] ipv4(String src, String dst, int marker) throws Exception {
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
