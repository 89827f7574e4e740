package dev.lattice.control.dns.authoritative;

import dev.lattice.guard.ConnectionSlots;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners of the authoritative DNS server: UDP and TCP on the same address, each on its own platform thread,
 * so nothing here ever runs on (or waits for) the control server's event loops. Every query is rate limited per
 * source before it is parsed; TCP connections are capped in total and must send within {@link #TCP_IDLE_MILLIS}.
 */
public final class AuthoritativeDnsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AuthoritativeDnsServer.class);
    static final int TCP_IDLE_MILLIS = 10_000;
    static final int MAX_TCP_CONNECTIONS = 128;
    /** So one address cannot hold every slot by keeping idle connections open. */
    static final int MAX_TCP_PER_SOURCE = 8;

    private final Answerer answerer;
    private final SourceRateLimiter limiter;
    private final Consumer<Outcome> counter;
    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final ConnectionSlots<InetAddress> tcpSlots = new ConnectionSlots<>(MAX_TCP_CONNECTIONS, MAX_TCP_PER_SOURCE);
    private volatile boolean closed;

    private AuthoritativeDnsServer(Answerer answerer, int queriesPerSecond, Consumer<Outcome> counter, DatagramSocket udp,
            ServerSocket tcp) {
        this.answerer = answerer;
        this.limiter = new SourceRateLimiter(queriesPerSecond);
        this.counter = counter;
        this.udp = udp;
        this.tcp = tcp;
    }

    /**
     * Binds UDP and TCP on {@code addr} (port 0: the same free port for both) and starts serving.
     *
     * @param counter told the outcome of every query (metrics)
     */
    public static AuthoritativeDnsServer start(InetSocketAddress addr, Answerer answerer, int queriesPerSecond,
            Consumer<Outcome> counter) throws IOException {
        IOException last = null;
        for (int attempt = 0; attempt < 20; attempt++) {
            DatagramSocket udp = new DatagramSocket(null);
            ServerSocket tcp = new ServerSocket();
            try {
                udp.bind(addr);
                tcp.setReuseAddress(true);
                tcp.bind(new InetSocketAddress(addr.getAddress(), udp.getLocalPort()), 64);
            } catch (IOException e) {
                udp.close();
                tcp.close();
                last = e;
                if (addr.getPort() != 0) break; // a chosen port is taken: say so; a free one raced: try another
                continue;
            }
            AuthoritativeDnsServer s = new AuthoritativeDnsServer(answerer, queriesPerSecond, counter, udp, tcp);
            Thread.ofPlatform().name("dns-udp").daemon().start(s::serveUdp);
            Thread.ofPlatform().name("dns-tcp").daemon().start(s::acceptTcp);
            return s;
        }
        throw new IOException("cannot listen for DNS on " + addr + ": " + (last == null ? "?" : last.getMessage()), last);
    }

    /** The bound address (UDP and TCP share the port). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) udp.getLocalSocketAddress();
    }

    private void serveUdp() {
        byte[] buf = new byte[65535];
        while (!closed) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                udp.receive(p);
            } catch (IOException e) {
                if (closed) return;
                log.debug("DNS UDP receive failed: {}", e.toString());
                continue;
            }
            try {
                byte[] reply = handle(p.getAddress(), java.util.Arrays.copyOfRange(buf, 0, p.getLength()), false);
                if (reply != null) udp.send(new DatagramPacket(reply, reply.length, p.getSocketAddress()));
            } catch (IOException | RuntimeException e) {
                if (closed) return;
                log.debug("DNS UDP reply to {} failed: {}", p.getSocketAddress(), e.toString());
            }
        }
    }

    /** The reply to one query from {@code source}, or null to send nothing; counts the outcome. */
    byte[] handle(InetAddress source, byte[] query, boolean overTcp) {
        if (!limiter.tryAcquire(source, System.nanoTime())) {
            counter.accept(Outcome.RATE_LIMITED);
            return null;
        }
        Answerer.Result r = answerer.answer(query, overTcp);
        counter.accept(r.outcome());
        return r.reply();
    }

    private void acceptTcp() {
        while (!closed) {
            Socket c;
            try {
                c = tcp.accept();
            } catch (IOException e) {
                if (closed) return;
                log.debug("DNS TCP accept failed: {}", e.toString());
                continue;
            }
            InetAddress source = c.getInetAddress();
            if (!tcpSlots.tryAcquire(source)) {
                closeQuietly(c);
                continue;
            }
            Thread.ofVirtual().name("dns-tcp-conn").start(() -> {
                try (c) {
                    serveTcp(c);
                } catch (IOException e) {
                    // the client went away or sent garbage; nothing to tell anyone
                } finally {
                    tcpSlots.release(source);
                }
            });
        }
    }

    /** RFC 7766: two-byte length, message; several queries per connection, answered in order. */
    private void serveTcp(Socket c) throws IOException {
        c.setSoTimeout(TCP_IDLE_MILLIS);
        DataInputStream in = new DataInputStream(c.getInputStream());
        OutputStream out = c.getOutputStream();
        InetAddress source = c.getInetAddress();
        while (!closed) {
            int len;
            try {
                len = in.readUnsignedShort();
            } catch (EOFException | SocketException | java.net.SocketTimeoutException e) {
                return;
            }
            byte[] q = in.readNBytes(len);
            if (q.length < len) return;
            byte[] reply = handle(source, q, true);
            if (reply == null) {
                // Malformed or over the rate: a stream that carries garbage is not worth keeping.
                return;
            }
            byte[] framed = new byte[reply.length + 2];
            framed[0] = (byte) (reply.length >>> 8);
            framed[1] = (byte) reply.length;
            System.arraycopy(reply, 0, framed, 2, reply.length);
            out.write(framed);
            out.flush();
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing a refused connection
        }
    }

    @Override
    public void close() {
        closed = true;
        udp.close();
        try {
            tcp.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}
