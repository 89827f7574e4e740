package dev.lattice.wireguard.conn;

import dev.lattice.wireguard.sys.Libc;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One dual-stack UDP socket (AF_INET6 with IPV6_V6ONLY off) carrying all of a device's WireGuard traffic,
 * driven through FFM with copy-free critical calls on a non-blocking fd. One receive thread and any number
 * of sending threads may use it.
 */
public final class UdpSocket implements UdpTransport {
    private static final int AF_INET6 = 10;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_NONBLOCK = 0x800;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int IPPROTO_IPV6 = 41;
    private static final int IPV6_V6ONLY = 26;
    private static final int SOL_SOCKET = 1;
    private static final int SO_MARK = 36;
    private static final int SO_RCVBUF = 8;
    private static final int SO_SNDBUF = 7;
    private static final int SO_RCVBUFFORCE = 33;
    private static final int SO_SNDBUFFORCE = 32;

    private static final int SOL_UDP = 17;
    private static final int UDP_SEGMENT = 103;
    private static final int UDP_GRO = 104;
    /** Most bytes one GSO send may carry (the UDP length field, less headers). */
    public static final int MAX_GSO_BYTES = 65000;

    private final int fd;
    private final int port;
    private volatile boolean gso = true;
    private boolean gro;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment recvPoll = arena.allocate(8);
    private volatile boolean closed;

    private UdpSocket(int fd, int port) {
        this.fd = fd;
        this.port = port;
    }

    /** Binds {@code [::]:port} (0 = any free port). */
    public static UdpSocket open(int port) throws IOException {
        int fd = Libc.socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        try (Arena a = Arena.ofConfined()) {
            Libc.setsockoptInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
            // Large buffers absorb bursts while a thread is busy with crypto (FORCE works as root).
            int buf = 7 << 20;
            if (Libc.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, buf) < 0) Libc.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, buf);
            if (Libc.setsockoptInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, buf) < 0) Libc.setsockoptInt(fd, SOL_SOCKET, SO_SNDBUF, buf);
            MemorySegment sa = a.allocate(Endpoint.SOCKADDR_LEN);
            sa.set(ValueLayout.JAVA_SHORT, 0, (short) AF_INET6);
            sa.set(ValueLayout.JAVA_BYTE, 2, (byte) (port >>> 8));
            sa.set(ValueLayout.JAVA_BYTE, 3, (byte) port);
            if (Libc.bind(fd, sa, Endpoint.SOCKADDR_LEN) < 0) {
                IOException e = Libc.error("bind UDP port " + port);
                Libc.close(fd);
                throw e;
            }
            MemorySegment len = a.allocateFrom(ValueLayout.JAVA_INT, Endpoint.SOCKADDR_LEN);
            if (Libc.getsockname(fd, sa, len) < 0) {
                IOException e = Libc.error("getsockname");
                Libc.close(fd);
                throw e;
            }
            int bound = ((sa.get(ValueLayout.JAVA_BYTE, 2) & 0xff) << 8) | (sa.get(ValueLayout.JAVA_BYTE, 3) & 0xff);
            return new UdpSocket(fd, bound);
        }
    }

    @Override
    public int port() {
        return port;
    }

    /** Asks the kernel to coalesce received datagrams (UDP_GRO); false if it cannot. */
    public boolean enableGro() {
        gro = Libc.setsockoptInt(fd, SOL_UDP, UDP_GRO, 1) == 0;
        return gro;
    }

    public boolean groEnabled() {
        return gro;
    }

    public boolean gsoEnabled() {
        return gso;
    }

    /**
     * Native buffers for batched I/O, one per thread: a 64 KiB data area and the msghdr, iovec, control and
     * address structs that sendmsg/recvmsg need.
     */
    public static final class Batch implements AutoCloseable {
        // Shared: the data path fills a batch on one thread and may send it from another (the in-order stage).
        private final Arena arena = Arena.ofShared();
        public final MemorySegment data = arena.allocate(65536 + 4096, 64);
        private final MemorySegment msg = arena.allocate(56, 8);
        private final MemorySegment iov = arena.allocate(16, 8);
        private final MemorySegment control = arena.allocate(64, 8);
        private final MemorySegment name = arena.allocate(Endpoint.SOCKADDR_LEN, 8);
        private final MemorySegment pollfd = arena.allocate(8, 4);

        @Override
        public void close() {
            arena.close();
        }
    }

    /**
     * Sends {@code len} bytes of {@code b.data} as datagrams of {@code segSize} bytes each (the last may be
     * shorter) with one UDP GSO sendmsg. Falls back to one sendto per datagram if the kernel refuses GSO.
     */
    public boolean sendSegments(Batch b, int len, int segSize, Endpoint to) {
        if (len <= segSize || !gso) return sendEach(b, len, segSize, to);
        MemorySegment.copy(to.sockaddr(), 0, b.name, ValueLayout.JAVA_BYTE, 0, Endpoint.SOCKADDR_LEN);
        b.iov.set(ValueLayout.ADDRESS, 0, b.data);
        b.iov.set(ValueLayout.JAVA_LONG, 8, len);
        b.control.set(ValueLayout.JAVA_LONG, 0, 18);           // cmsg_len = CMSG_LEN(sizeof(u16))
        b.control.set(ValueLayout.JAVA_INT, 8, SOL_UDP);
        b.control.set(ValueLayout.JAVA_INT, 12, UDP_SEGMENT);
        b.control.set(ValueLayout.JAVA_SHORT, 16, (short) segSize);
        fillMsg(b, 24);
        for (int attempt = 0; attempt < 1000; attempt++) {
            long n = Libc.sendmsg(fd, b.msg, 0);
            if (n >= 0) return true;
            int e = Libc.errno();
            if (e == Libc.EINTR) continue;
            if (e == Libc.EAGAIN) {
                Libc.poll(b.pollfd, fd, Libc.POLLOUT, 10);
                continue;
            }
            if (e == 5 /* EIO: device can't checksum-offload */ || e == 22 /* EINVAL: no GSO */) {
                gso = false;
                return sendEach(b, len, segSize, to);
            }
            return false;
        }
        return false;
    }

    private boolean sendEach(Batch b, int len, int segSize, Endpoint to) {
        boolean ok = true;
        for (int off = 0; off < len; off += segSize) {
            int l = Math.min(segSize, len - off);
            ok &= sendNative(b.data.asSlice(off, l), l, to, b.pollfd);
        }
        return ok;
    }

    private boolean sendNative(MemorySegment data, int len, Endpoint to, MemorySegment pollfd) {
        byte[] sa = to.sockaddr();
        for (int attempt = 0; attempt < 1000; attempt++) {
            int n = Libc.sendto(fd, data, len, MemorySegment.ofArray(sa), Endpoint.SOCKADDR_LEN);
            if (n >= 0) return true;
            int e = Libc.errno();
            if (e == Libc.EINTR) continue;
            if (e != Libc.EAGAIN) return false;
            Libc.poll(pollfd, fd, Libc.POLLOUT, 10);
        }
        return false;
    }

    private void fillMsg(Batch b, long controlLen) {
        b.msg.set(ValueLayout.ADDRESS, 0, b.name);
        b.msg.set(ValueLayout.JAVA_INT, 8, Endpoint.SOCKADDR_LEN);
        b.msg.set(ValueLayout.ADDRESS, 16, b.iov);
        b.msg.set(ValueLayout.JAVA_LONG, 24, 1);
        b.msg.set(ValueLayout.ADDRESS, 32, controlLen == 0 ? MemorySegment.NULL : b.control);
        b.msg.set(ValueLayout.JAVA_LONG, 40, controlLen);
        b.msg.set(ValueLayout.JAVA_INT, 48, 0);
    }

    /**
     * Receives into {@code b.data}, possibly several coalesced datagrams (with GRO on). Returns the byte count
     * (or -1 on timeout); {@code segSize[0]} gets the size of each datagram but the last (0 = just one), and
     * {@code src} the sender's sockaddr.
     */
    public int receiveBatch(Batch b, byte[] src, int[] segSize, int timeoutMillis) throws IOException {
        while (true) {
            if (closed) throw new IOException("socket closed");
            b.iov.set(ValueLayout.ADDRESS, 0, b.data);
            b.iov.set(ValueLayout.JAVA_LONG, 8, 65535);
            fillMsg(b, 64);
            long n = Libc.recvmsg(fd, b.msg, 0);
            if (n >= 0) {
                MemorySegment.copy(b.name, ValueLayout.JAVA_BYTE, 0, src, 0, Endpoint.SOCKADDR_LEN);
                segSize[0] = 0;
                long clen = b.msg.get(ValueLayout.JAVA_LONG, 40);
                if (clen >= 20 && b.control.get(ValueLayout.JAVA_INT, 8) == SOL_UDP
                        && b.control.get(ValueLayout.JAVA_INT, 12) == UDP_GRO) {
                    segSize[0] = b.control.get(ValueLayout.JAVA_INT, 16);
                }
                return (int) n;
            }
            int e = Libc.errno();
            if (e == Libc.EINTR) continue;
            if (e != Libc.EAGAIN) continue; // ICMP-reported errors are not fatal on UDP
            if (Libc.poll(b.pollfd, fd, Libc.POLLIN, timeoutMillis) == 0) return -1;
        }
    }

    /** Sets SO_MARK (fwmark) for policy routing; 0 clears it. */
    @Override
    public void setMark(int mark) throws IOException {
        if (Libc.setsockoptInt(fd, SOL_SOCKET, SO_MARK, mark) < 0) throw Libc.error("SO_MARK");
    }

    /**
     * Receives one datagram into {@code buf[off..off+max)}, its source sockaddr into {@code srcSockaddr}
     * (28 bytes) and waits up to {@code timeoutMillis}. Returns the length, or -1 on timeout.
     */
    @Override
    public int receive(byte[] buf, int off, int max, byte[] srcSockaddr, int[] srcLen, int timeoutMillis) throws IOException {
        MemorySegment addr = MemorySegment.ofArray(srcSockaddr);
        MemorySegment addrLen = MemorySegment.ofArray(srcLen);
        while (true) {
            if (closed) throw new IOException("socket closed");
            srcLen[0] = Endpoint.SOCKADDR_LEN;
            int n = Libc.recvfrom(fd, buf, off, max, addr, addrLen);
            if (n >= 0) return n;
            int e = Libc.errno();
            if (e == Libc.EINTR) continue;
            if (e != Libc.EAGAIN) {
                // ICMP errors surface as ECONNREFUSED etc. on UDP sockets; they are not fatal.
                continue;
            }
            int r = Libc.poll(recvPoll, fd, Libc.POLLIN, timeoutMillis);
            if (r == 0) return -1;
        }
    }

    /** Sends one datagram; returns false if the kernel refused it (no route, buffer full after a wait). */
    @Override
    public boolean send(byte[] buf, int off, int len, Endpoint to) {
        byte[] sa = to.sockaddr();
        for (int attempt = 0; attempt < 100; attempt++) {
            int n = Libc.sendto(fd, buf, off, len, MemorySegment.ofArray(sa), Endpoint.SOCKADDR_LEN);
            if (n >= 0) return true;
            int e = Libc.errno();
            if (e == Libc.EINTR) continue;
            if (e != Libc.EAGAIN) return false;
            Thread.onSpinWait();
            if (attempt > 10) {
                try (Arena a = Arena.ofConfined()) {
                    Libc.poll(a.allocate(8), fd, Libc.POLLOUT, 10);
                }
            }
        }
        return false;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Libc.close(fd);
    }
}
