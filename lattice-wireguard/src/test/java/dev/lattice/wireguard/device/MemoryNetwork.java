package dev.lattice.wireguard.device;

import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.conn.UdpTransport;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * An in-memory UDP network: each host has an IP; sockets bind ports on it. A filter lets tests drop or
 * capture datagrams in flight, and hosts can change address to test roaming.
 */
final class MemoryNetwork {
    record Datagram(byte[] data, byte[] src, InetSocketAddress dst) {}

    private final Map<InetSocketAddress, Socket> sockets = new ConcurrentHashMap<>();
    volatile Predicate<Datagram> filter = d -> true;

    final class Host implements UdpTransport.Factory {
        volatile InetAddress ip;

        Host(String ip) throws Exception {
            this.ip = InetAddress.getByName(ip);
        }

        @Override
        public UdpTransport open(int port) {
            int p = port == 0 ? 40000 + sockets.size() : port;
            Socket s = new Socket(this, p);
            sockets.put(new InetSocketAddress(ip, p), s);
            return s;
        }

        /** Moves the host (and its sockets) to a new address. */
        void moveTo(String newIp) throws Exception {
            InetAddress n = InetAddress.getByName(newIp);
            for (var e : sockets.entrySet()) {
                if (e.getValue().host == this) {
                    sockets.remove(e.getKey());
                    sockets.put(new InetSocketAddress(n, e.getKey().getPort()), e.getValue());
                }
            }
            ip = n;
        }
    }

    final class Socket implements UdpTransport {
        final Host host;
        final int port;
        final LinkedBlockingQueue<Datagram> inbox = new LinkedBlockingQueue<>();
        volatile boolean closed;

        Socket(Host host, int port) {
            this.host = host;
            this.port = port;
        }

        @Override
        public int port() {
            return port;
        }

        @Override
        public void setMark(int mark) {}

        @Override
        public int receive(byte[] buf, int off, int max, byte[] src, int[] srcLen, int timeoutMillis) throws java.io.IOException {
            if (closed) throw new java.io.IOException("closed");
            try {
                Datagram d = inbox.poll(timeoutMillis, TimeUnit.MILLISECONDS);
                if (d == null) return -1;
                int n = Math.min(max, d.data().length);
                System.arraycopy(d.data(), 0, buf, off, n);
                System.arraycopy(d.src(), 0, src, 0, Endpoint.SOCKADDR_LEN);
                return n;
            } catch (InterruptedException e) {
                throw new java.io.IOException(e);
            }
        }

        @Override
        public boolean send(byte[] buf, int off, int len, Endpoint to) {
            byte[] src = Endpoint.of(new InetSocketAddress(host.ip, port)).sockaddr();
            Datagram d = new Datagram(Arrays.copyOfRange(buf, off, off + len), src, to.address());
            if (!filter.test(d)) return true;
            Socket dst = sockets.get(to.address());
            if (dst != null && !dst.closed) dst.inbox.add(d);
            return true;
        }

        /** Injects a raw datagram as if sent from {@code from}. */
        void inject(byte[] data, InetSocketAddress from) {
            inbox.add(new Datagram(data, Endpoint.of(from).sockaddr(), new InetSocketAddress(host.ip, port)));
        }

        @Override
        public void close() {
            closed = true;
            sockets.values().remove(this);
        }
    }

    Socket socket(InetSocketAddress a) {
        return sockets.get(a);
    }
}
