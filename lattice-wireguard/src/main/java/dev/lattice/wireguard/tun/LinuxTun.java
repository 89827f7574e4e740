package dev.lattice.wireguard.tun;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.lattice.wireguard.sys.Libc;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * A Linux TUN interface ({@code /dev/net/tun}, IFF_TUN | IFF_NO_PI) opened through FFM. Each read returns one
 * raw IP packet. The fd is non-blocking; {@link #read} waits in poll() so the copy-free critical read never
 * blocks. Reads and writes may come from different threads; each direction must stay on one thread.
 */
public final class LinuxTun implements TunDevice {
    private static final long TUNSETIFF = 0x400454caL;
    private static final long SIOCGIFMTU = 0x8921L;
    private static final long SIOCSIFMTU = 0x8922L;
    private static final short IFF_TUN = 0x0001;
    private static final short IFF_NO_PI = 0x1000;
    private static final short IFF_VNET_HDR = 0x4000;
    private static final long TUNSETOFFLOAD = 0x400454d0L;
    private static final int TUN_F_CSUM = 0x01;
    private static final int TUN_F_TSO4 = 0x02;
    private static final int TUN_F_TSO6 = 0x04;
    private static final int IFNAMSIZ = 16;
    private static final int IFREQ_SIZE = 40;
    private static final int AF_UNIX = 1;
    private static final int AF_INET = 2;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_SEQPACKET = 5;

    private final int fd;
    private final String name;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment readPoll = arena.allocate(8);
    private final MemorySegment writePoll = arena.allocate(8);
    private final boolean vnetHdr;
    /** A socket's stand-in MTU; 0 for a real interface, whose MTU the kernel holds. */
    private volatile int socketMtu;
    private volatile boolean closed;

    private LinuxTun(int fd, String name, boolean vnetHdr, int socketMtu) {
        this.fd = fd;
        this.name = name;
        this.vnetHdr = vnetHdr;
        this.socketMtu = socketMtu;
    }

    /** Creates (or attaches to) the TUN interface {@code name} and sets its MTU; no offloads. */
    public static LinuxTun open(String name, int mtu) throws IOException {
        return open(name, mtu, false);
    }

    /**
     * Creates the TUN interface. With {@code offload}, packets carry a virtio_net_hdr and the kernel may hand
     * over TCP super-packets (TSO) and partial checksums, which the reader must segment and complete; if the
     * kernel refuses the offload flags, the device falls back to plain packets.
     */
    public static LinuxTun open(String name, int mtu, boolean offload) throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
        if (nameBytes.length == 0 || nameBytes.length >= IFNAMSIZ) {
            throw new IllegalArgumentException("interface name must be 1.." + (IFNAMSIZ - 1) + " characters: " + name);
        }
        int fd = Libc.open("/dev/net/tun", Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = a.allocate(IFREQ_SIZE);
            MemorySegment.copy(nameBytes, 0, ifr, JAVA_BYTE_LAYOUT, 0, nameBytes.length);
            ifr.set(JAVA_SHORT, IFNAMSIZ, (short) (IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0)));
            if (Libc.ioctl(fd, TUNSETIFF, ifr) < 0) {
                IOException e = Libc.error("TUNSETIFF " + name);
                Libc.close(fd);
                throw e;
            }
            String actual = ifr.getString(0);
            boolean vnet = offload;
            if (offload && Libc.ioctl(fd, TUNSETOFFLOAD, MemorySegment.ofAddress(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) < 0) {
                // Keep the vnet header (the flag is set) but with no offloads: every header then says "none".
                Libc.ioctl(fd, TUNSETOFFLOAD, MemorySegment.ofAddress(0));
            }
            LinuxTun tun = new LinuxTun(fd, actual, vnet, 0);
            if (mtu > 0) tun.setMtu(mtu);
            return tun;
        }
    }

    /**
     * Two ends of a {@code SOCK_SEQPACKET} socket pair, each read and written as this class reads and writes a TUN:
     * one message per packet, non-blocking, waits in poll(). No interface, no privileges: the start-up warm-up gives
     * the first end to its throwaway devices and plays the kernel on the second, so that the devices run the real
     * TUN's code (its downcalls, and this class at the call sites where a real device will meet it).
     * {@link #mtu()} answers {@code mtu}; {@code vnetHdr} says whether packets carry a virtio_net_hdr.
     */
    public static LinuxTun[] socketPair(String name, int mtu, boolean vnetHdr) throws IOException {
        if (mtu <= 0) throw new IllegalArgumentException("MTU must be positive: " + mtu);
        int[] fds = Libc.socketpair(AF_UNIX, SOCK_SEQPACKET | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        return new LinuxTun[] {
            new LinuxTun(fds[0], name, vnetHdr, mtu), new LinuxTun(fds[1], name + "-kernel", vnetHdr, mtu)
        };
    }

    private static final java.lang.foreign.ValueLayout.OfByte JAVA_BYTE_LAYOUT = java.lang.foreign.ValueLayout.JAVA_BYTE;

    @Override
    public String name() {
        return name;
    }

    @Override
    public boolean vnetHdr() {
        return vnetHdr;
    }

    /** The interface MTU as the kernel has it now (a user may change it with {@code ip link}). */
    @Override
    public int mtu() throws IOException {
        int m = socketMtu;
        return m > 0 ? m : mtuIoctl(SIOCGIFMTU, 0);
    }

    public void setMtu(int mtu) throws IOException {
        if (mtu <= 0) throw new IllegalArgumentException("MTU must be positive: " + mtu);
        if (socketMtu > 0) {
            socketMtu = mtu;
        } else {
            mtuIoctl(SIOCSIFMTU, mtu);
        }
    }

    private int mtuIoctl(long request, int value) throws IOException {
        int sock = Libc.socket(AF_INET, SOCK_DGRAM | Libc.O_CLOEXEC, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = a.allocate(IFREQ_SIZE);
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(n, 0, ifr, JAVA_BYTE_LAYOUT, 0, n.length);
            ifr.set(JAVA_INT, IFNAMSIZ, value);
            if (Libc.ioctl(sock, request, ifr) < 0) throw Libc.error("MTU ioctl on " + name);
            return ifr.get(JAVA_INT, IFNAMSIZ);
        } finally {
            Libc.close(sock);
        }
    }

    /**
     * Reads one packet into {@code buf[off..off+max)}, waiting up to {@code timeoutMillis} (-1 = forever).
     * Returns its length, or 0 on timeout.
     */
    @Override
    public int read(byte[] buf, int off, int max, int timeoutMillis) throws IOException {
        while (true) {
            if (closed) throw new IOException("TUN " + name + " closed");
            int n = Libc.read(fd, buf, off, max);
            if (n >= 0) return n;
            int e = Libc.errno();
            if (e == Libc.EINTR) continue;
            if (e != Libc.EAGAIN) throw Libc.error("read " + name);
            int r = Libc.poll(readPoll, fd, Libc.POLLIN, timeoutMillis);
            if (r == 0) return 0;
            if (r < 0 && Libc.errno() != Libc.EINTR) throw Libc.error("poll " + name);
        }
    }

    /** Writes one IP packet. A full queue waits briefly; the packet is never silently truncated. */
    @Override
    public void write(byte[] buf, int off, int len) throws IOException {
        while (true) {
            // checked first, as read does: a closed fd's number may already belong to another file
            if (closed) throw new IOException("TUN " + name + " closed");
            int n = Libc.write(fd, buf, off, len);
            if (n >= 0) return;
            int e = Libc.errno();
            if (e == Libc.EINTR) continue;
            if (e != Libc.EAGAIN) throw Libc.error("write " + name);
            Libc.poll(writePoll, fd, Libc.POLLOUT, 100);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Libc.close(fd);
    }
}
