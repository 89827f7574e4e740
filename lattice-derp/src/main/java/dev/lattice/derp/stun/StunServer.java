package dev.lattice.derp.stun;

import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.stun.Stun;
import dev.lattice.wire.stun.StunException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers STUN binding requests with the sender's address (XOR-MAPPED-ADDRESS; MAPPED-ADDRESS for RFC 3489 clients).
 * Unlike tailscale's server, which answers only Tailscale's own requests, any well-formed binding request is
 * answered, so standard tools can check it; RFC 3489 requests asking for a changed address or port get no answer
 * (this server has one address). One platform thread, one datagram at a time: a reply is a few dozen bytes and
 * needs no state, so there is nothing to exhaust.
 */
public final class StunServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StunServer.class);

    private final DatagramChannel channel;
    private final Thread thread;
    private volatile boolean closed;
    private final LongAdder answered = new LongAdder();
    private final LongAdder ignored = new LongAdder();

    private StunServer(DatagramChannel channel) {
        this.channel = channel;
        this.thread = Thread.ofPlatform().daemon().name("stun-" + boundAddress().getPort()).unstarted(this::serve);
    }

    /** Binds {@code addr} (port 0 = any) and starts serving. */
    public static StunServer start(InetSocketAddress addr) throws IOException {
        DatagramChannel ch = DatagramChannel.open();
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.bind(addr);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        StunServer s = new StunServer(ch);
        s.thread.start();
        log.info("STUN server listening on udp {}", IpPrefix.hostPort(s.boundAddress()));
        return s;
    }

    public InetSocketAddress boundAddress() {
        try {
            return (InetSocketAddress) channel.getLocalAddress();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Requests answered and datagrams ignored (not STUN, not a binding request, malformed). */
    public long answered() {
        return answered.sum();
    }

    public long ignored() {
        return ignored.sum();
    }

    private void serve() {
        ByteBuffer buf = ByteBuffer.allocate(2048);
        byte[] b = buf.array();
        while (!closed) {
            InetSocketAddress from;
            try {
                buf.clear();
                from = (InetSocketAddress) channel.receive(buf);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closed) return;
                log.debug("STUN receive: {}", e.toString());
                continue;
            }
            if (from == null) continue;
            byte[] reply;
            try {
                Stun.BindingRequest req = Stun.parseBindingRequest(b, buf.position());
                if (req.changeRequested()) {
                    ignored.increment();
                    continue;
                }
                reply = Stun.response(req.txId(), from);
            } catch (StunException e) {
                ignored.increment();
                continue;
            }
            // Counted before the send: a client may have the answer (and a test read the count) before send returns.
            answered.increment();
            try {
                channel.send(ByteBuffer.wrap(reply), from);
            } catch (IOException e) {
                answered.decrement();
                if (closed) return;
                log.debug("STUN send to {}: {}", from, e.toString());
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
