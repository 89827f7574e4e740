package dev.lattice.agent.router;

import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.lattice.wire.netlink.NetlinkException;
import dev.lattice.wire.netlink.NetlinkMessage;
import dev.lattice.wire.netlink.NetlinkMessage.Ack;
import dev.lattice.wire.netlink.Rtnl;
import dev.lattice.wireguard.sys.Libc;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@code NETLINK_ROUTE} socket: the router's changes without an {@code ip} process each (a first {@code up}'s
 * routes used to wait 5–50 ms for one). Requests of a batch go out together, up to {@link #CHUNK} per datagram, and
 * each is answered by an ack; the extended ack's text (iproute2's "Error: …" line) comes with a failure.
 * Used under the router's lock: one exchange at a time.
 */
public final class NetlinkSocket implements Netlink {
    static final int AF_NETLINK = 16;
    static final int SOCK_RAW = 3;
    static final int SOCK_NONBLOCK = 0x800;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int NETLINK_ROUTE = 0;
    static final int SOL_NETLINK = 270;
    static final int NETLINK_CAP_ACK = 10;
    static final int NETLINK_EXT_ACK = 11;
    /** Requests per datagram: their acks must fit the socket's receive buffer before we read them. */
    static final int CHUNK = 128;
    private static final int TIMEOUT_MS = 10_000;
    private static final int ESRCH = 3;
    private static final int ENODEV = 19;
    private static final int EAFNOSUPPORT = 97;
    /** No errno is taken as an empty answer. */
    private static final int NONE = -1;

    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment kernel; // sockaddr_nl of the kernel: family, pad, pid 0, groups 0
    private final MemorySegment pollfd;
    private final byte[] rx = new byte[64 * 1024];
    private final Map<String, Integer> indexes = new HashMap<>();
    private int seq = (int) (System.nanoTime() & 0x3fffffff); // stale answers to an earlier socket's numbers are ignored
    private boolean closed;

    private NetlinkSocket(int fd) {
        this.fd = fd;
        kernel = arena.allocate(12);
        kernel.set(JAVA_SHORT, 0, (short) AF_NETLINK);
        pollfd = arena.allocate(8);
    }

    /** A socket in the calling thread's network namespace. */
    public static NetlinkSocket open() throws IOException {
        int fd = Libc.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
        // Acks without a copy of the request; failures with the kernel's own words. Both are best effort (old kernels).
        Libc.setsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
        Libc.setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
        return new NetlinkSocket(fd);
    }

    @Override
    public synchronized void linkUp(String dev, int mtu) throws IOException {
        Ack a = one(Rtnl.setLinkUp(next(), index(dev), mtu));
        if (!a.ok()) {
            forgetIndexesIfGone(List.of(a));
            throw failure("ip link set dev " + dev + " mtu " + mtu + " up", a);
        }
    }

    @Override
    public synchronized int rule(boolean add, boolean v6, LinuxRouter.Rule r) throws IOException {
        int mask = add ? r.fwmask() : 0;
        return one(Rtnl.rule(add, next(), v6 ? Rtnl.AF_INET6 : Rtnl.AF_INET, r.pref(), r.fwmark(), mask, r.table(), r.action())).errno();
    }

    @Override
    public synchronized int flushTable(boolean v6, int table) throws IOException {
        List<byte[]> deletes = new ArrayList<>();
        // A kernel without IPv6 has no IPv6 routes to flush.
        for (NetlinkMessage m : query(Rtnl.dumpRoutes(next(), v6 ? Rtnl.AF_INET6 : Rtnl.AF_INET), "netlink dump", EAFNOSUPPORT)) {
            if (m.type() == Rtnl.RTM_NEWROUTE && checked(() -> Rtnl.routeTable(m)) == table) deletes.add(Rtnl.deleteRoute(next(), m));
        }
        int n = 0;
        for (Ack a : exchange(deletes)) {
            if (a.ok()) n++;
            else if (a.errno() != ESRCH) throw failure("ip route flush table " + table, a);
        }
        return n;
    }

    @Override
    public synchronized List<Ack> apply(List<Change> changes) throws IOException {
        List<byte[]> reqs = new ArrayList<>(changes.size());
        for (Change c : changes) {
            reqs.add(switch (c.kind()) {
                case ADDRESS -> Rtnl.address(c.add(), next(), index(c.dev()), c.prefix(), c.nodad());
                case ROUTE -> Rtnl.route(c.add(), next(), c.prefix(), c.table(), index(c.dev()), false);
                case THROW -> Rtnl.route(c.add(), next(), c.prefix(), c.table(), 0, true);
            });
        }
        List<Ack> acks = exchange(reqs);
        forgetIndexesIfGone(acks);
        return acks;
    }

    /**
     * The link's index, asked once per name: a TUN keeps its index for the router's life, unless it is made again
     * (by hand, or by another program), which {@link #forgetIndexesIfGone} notices.
     */
    private int index(String dev) throws IOException {
        Integer known = indexes.get(dev);
        if (known != null) return known;
        List<NetlinkMessage> link = query(Rtnl.getLink(next(), dev), "no link " + dev, NONE);
        if (link.isEmpty()) throw new IOException("no link " + dev + " failed: the kernel sent no answer");
        int i = checked(() -> Rtnl.linkIndex(link.getFirst()));
        indexes.put(dev, i);
        return i;
    }

    /**
     * Forgets the links' indexes when the kernel had no device for one: a link made again under its name has a new
     * index, and the router's next attempt (it retries what failed) asks for it.
     */
    private void forgetIndexesIfGone(List<Ack> acks) {
        for (Ack a : acks) {
            if (a.errno() == ENODEV) {
                indexes.clear();
                return;
            }
        }
    }

    private Ack one(byte[] req) throws IOException {
        return exchange(List.of(req)).getFirst();
    }

    /** Sends the requests, {@link #CHUNK} per datagram, and collects each one's ack, in order. */
    private List<Ack> exchange(List<byte[]> reqs) throws IOException {
        List<Ack> out = new ArrayList<>(reqs.size());
        for (int from = 0; from < reqs.size(); from += CHUNK) {
            List<byte[]> chunk = reqs.subList(from, Math.min(reqs.size(), from + CHUNK));
            ByteArrayOutputStream d = new ByteArrayOutputStream();
            Map<Integer, Integer> slot = new HashMap<>();
            for (byte[] r : chunk) {
                slot.put(seqOf(r), slot.size());
                d.writeBytes(r);
            }
            byte[] bytes = d.toByteArray();
            send(bytes, 0, bytes.length);
            Ack[] acks = new Ack[chunk.size()];
            int left = chunk.size();
            while (left > 0) {
                for (NetlinkMessage m : receive()) {
                    Integer i = slot.get(m.seq());
                    if (i == null || m.type() != NetlinkMessage.NLMSG_ERROR || acks[i] != null) continue;
                    acks[i] = checked(m::ack);
                    left--;
                }
            }
            out.addAll(List.of(acks));
        }
        return out;
    }

    /**
     * Sends one request the kernel answers with data, and reads the answer: a dump's messages up to its
     * {@code NLMSG_DONE}, or a single message. A refusal is {@code what}'s failure, except one with errno
     * {@code emptyOn}, which is an empty answer.
     */
    private List<NetlinkMessage> query(byte[] req, String what, int emptyOn) throws IOException {
        int s = seqOf(req);
        send(req, 0, req.length);
        List<NetlinkMessage> out = new ArrayList<>();
        while (true) {
            for (NetlinkMessage m : receive()) {
                if (m.seq() != s) continue;
                if (m.type() == NetlinkMessage.NLMSG_DONE) return out;
                if (m.type() == NetlinkMessage.NLMSG_ERROR) {
                    Ack a = checked(m::ack);
                    if (a.ok()) return out;
                    if (a.errno() == emptyOn) return List.of();
                    throw failure(what, a);
                }
                out.add(m);
                if ((m.flags() & NetlinkMessage.NLM_F_MULTI) == 0) return out;
            }
        }
    }

    private void send(byte[] b, int off, int len) throws IOException {
        while (true) {
            int n = Libc.sendto(fd, b, off, len, kernel, 12);
            if (n == len) return;
            int e = Libc.errno();
            if (n < 0 && e == Libc.EINTR) continue;
            if (n < 0 && e == Libc.EAGAIN) {
                await(Libc.POLLOUT);
                continue;
            }
            throw n < 0 ? new IOException("netlink send: " + Libc.strerror(e)) : new IOException("netlink send: short write");
        }
    }

    /** The messages of the next datagram from the kernel. */
    private List<NetlinkMessage> receive() throws IOException {
        while (true) {
            int n = Libc.recvfrom(fd, rx, 0, rx.length, MemorySegment.NULL, MemorySegment.NULL);
            if (n >= 0) return checked(() -> NetlinkMessage.parse(rx, 0, n));
            int e = Libc.errno();
            if (e == Libc.EINTR) continue;
            if (e != Libc.EAGAIN) throw new IOException("netlink receive: " + Libc.strerror(e));
            await(Libc.POLLIN);
        }
    }

    private void await(short events) throws IOException {
        if (closed) throw new IOException("netlink socket closed");
        int r = Libc.poll(pollfd, fd, events, TIMEOUT_MS);
        if (r == 0) throw new IOException("netlink: the kernel did not answer within " + TIMEOUT_MS + " ms");
        if (r < 0 && Libc.errno() != Libc.EINTR) throw new IOException("netlink poll: " + Libc.strerror(Libc.errno()));
    }

    /** A reading of the kernel's bytes that they refused to parse, as an I/O failure. */
    private interface Parse<T> {
        T get() throws NetlinkException;
    }

    private static <T> T checked(Parse<T> p) throws IOException {
        try {
            return p.get();
        } catch (NetlinkException e) {
            throw new IOException("netlink: " + e.getMessage(), e);
        }
    }

    private int next() {
        seq = (seq + 1) & 0x7fffffff;
        return seq;
    }

    private static int seqOf(byte[] req) {
        return java.nio.ByteBuffer.wrap(req).order(java.nio.ByteOrder.nativeOrder()).getInt(8);
    }

    private static IOException failure(String what, Ack a) {
        return new IOException(what + " failed: " + describe(a));
    }

    /** iproute2's words for a failure: the kernel's text if it gave one ({@code Error: ….}), else the errno's. */
    static String describe(Ack a) {
        String t = a.text() == null ? "" : a.text().strip();
        if (t.isEmpty()) return Libc.strerror(a.errno());
        return "Error: " + t + (t.endsWith(".") ? "" : ".");
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Libc.close(fd);
        arena.close();
    }
}
