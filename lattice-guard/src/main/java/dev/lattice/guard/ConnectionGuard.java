package dev.lattice.guard;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.LoggerFactory;

/**
 * Admission of connections and accounting of what they hold: anonymous connections per source address, all
 * connections in total, and request-body bytes in flight per connection, per source and in total. One guard may
 * serve several listeners of a process (they share its file descriptors). Call {@link #admit} from a channel
 * initializer; the rest is found through the channel ({@link #of}).
 */
public final class ConnectionGuard {
    private static final AttributeKey<Conn> CONN = AttributeKey.valueOf("lattice.guard.conn");
    private static final LogLimiter LOG = LogLimiter.perMinute(LoggerFactory.getLogger(ConnectionGuard.class));

    private final Limits limits;
    private final AtomicInteger total = new AtomicInteger();
    private final Map<InetAddress, AtomicInteger> anonymous = new ConcurrentHashMap<>();
    /** Body bytes in flight per source; a source holding none has no entry. Changed only inside compute. */
    private final Map<InetAddress, Long> sourceBytes = new ConcurrentHashMap<>();
    private final AtomicLong totalBytes = new AtomicLong();
    private final LongAdder refusedTotal = new LongAdder();
    private final LongAdder refusedPerSource = new LongAdder();
    private final LongAdder shedBodies = new LongAdder();

    public ConnectionGuard(Limits limits) {
        this.limits = limits;
    }

    public Limits limits() {
        return limits;
    }

    /**
     * Admits {@code ch} or closes it. An admitted connection is counted until it closes. Returns whether it was
     * admitted.
     */
    public boolean admit(Channel ch) {
        InetAddress src = sourceOf(ch);
        if (total.incrementAndGet() > limits.maxConnections) {
            total.decrementAndGet();
            refusedTotal.increment();
            LOG.warn("total", "connection limit reached ({} open); refusing new connections", limits.maxConnections);
            ch.close();
            return false;
        }
        boolean counted = src != null && !limits.trustedProxy.test(src);
        if (counted && !acquire(src)) {
            total.decrementAndGet();
            refusedPerSource.increment();
            LOG.warn(src, "connection limit for {} reached ({} anonymous connections); refusing more from it{}",
                    src.getHostAddress(), limits.maxAnonymousPerSource,
                    src.isLoopbackAddress() ? "; if this is a reverse proxy, list it in trusted_proxies" : "");
            ch.close();
            return false;
        }
        Conn c = new Conn(this, counted ? src : null, src);
        ch.attr(CONN).set(c);
        ch.closeFuture().addListener(f -> c.closed());
        return true;
    }

    /** The guarded state of {@code ch} (or of the connection a stream channel belongs to), or null if unguarded. */
    public static Conn of(Channel ch) {
        for (Channel c = ch; c != null; c = c.parent()) {
            Conn conn = c.attr(CONN).get();
            if (conn != null) return conn;
        }
        return null;
    }

    /** Marks the connection of {@code ch} as proven (a registered node); no-op on unguarded channels. */
    public static void promote(Channel ch) {
        Conn c = of(ch);
        if (c != null) c.promote();
    }

    public int openConnections() {
        return total.get();
    }

    public long refused() {
        return refusedTotal.sum() + refusedPerSource.sum();
    }

    /** Connections refused because all the listeners together were at {@link Limits#maxConnections}. */
    public long refusedAtTotalLimit() {
        return refusedTotal.sum();
    }

    /** Connections refused because their source address was at {@link Limits#maxAnonymousPerSource}. */
    public long refusedAtSourceLimit() {
        return refusedPerSource.sum();
    }

    /** Requests refused with 503 because a body budget was spent. */
    public long shedRequests() {
        return shedBodies.sum();
    }

    public long bodyBytesInFlight() {
        return totalBytes.get();
    }

    /** Sources with request-body bytes in flight (tests: the table must not keep sources that hold nothing). */
    int sourcesHoldingBodyBytes() {
        return sourceBytes.size();
    }

    /** Anonymous connections open from {@code src}. */
    public int anonymousFrom(InetAddress src) {
        AtomicInteger n = anonymous.get(src);
        return n == null ? 0 : n.get();
    }

    private boolean acquire(InetAddress src) {
        boolean[] ok = {false};
        anonymous.compute(src, (k, n) -> {
            if (n == null) n = new AtomicInteger();
            if (n.get() < limits.maxAnonymousPerSource) {
                n.incrementAndGet();
                ok[0] = true;
            }
            return n.get() == 0 ? null : n;
        });
        return ok[0];
    }

    private void releaseSource(InetAddress src) {
        anonymous.computeIfPresent(src, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    /** Charges {@code n} body bytes to {@code src} unless that overdraws its budget (trusted proxies have none). */
    private boolean chargeSource(InetAddress src, long n) {
        boolean exempt = limits.trustedProxy.test(src);
        boolean[] ok = {false};
        sourceBytes.compute(src, (k, held) -> {
            long now = held == null ? 0 : held;
            if (!exempt && now + n > limits.bodyBytesPerSource) return held;
            ok[0] = true;
            return now + n;
        });
        return ok[0];
    }

    private void unchargeSource(InetAddress src, long n) {
        sourceBytes.computeIfPresent(src, (k, held) -> held - n <= 0 ? null : held - n);
    }

    private static InetAddress sourceOf(Channel ch) {
        return ch.remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
    }

    /** One guarded connection. */
    public static final class Conn {
        private final ConnectionGuard guard;
        private final InetAddress remote;
        private InetAddress counted; // the source it holds an anonymous slot of, or null; guarded by this
        private boolean promoted;
        private boolean closed;
        private final AtomicLong bytes = new AtomicLong();
        private InetAddress bytesSource; // the source whose byte budget it charges, guarded by this

        private Conn(ConnectionGuard guard, InetAddress counted, InetAddress remote) {
            this.guard = guard;
            this.counted = counted;
            this.remote = remote;
            this.bytesSource = counted != null ? counted : remote;
        }

        /** Where the connection comes from: the peer address, or the client a trusted proxy named. */
        public synchronized InetAddress source() {
            return bytesSource;
        }

        public synchronized boolean isPromoted() {
            return promoted;
        }

        /** The largest request body this connection may send now. */
        public int maxBody() {
            return isPromoted() ? guard.limits.maxBody : guard.limits.maxAnonymousBody;
        }

        public Limits limits() {
            return guard.limits;
        }

        synchronized void promote() {
            if (promoted || closed) return;
            promoted = true;
            if (counted != null) {
                guard.releaseSource(counted);
                counted = null;
            }
        }

        /**
         * A trusted proxy told who the client is (X-Forwarded-For, X-Real-IP): count the connection against that
         * client from now on. Returns false when the client is over its cap (nothing changes; the caller refuses the
         * request) and when the connection is closed. A connection not from a trusted proxy cannot be attributed:
         * nothing changes and the result is true, as there is nothing to refuse.
         */
        public boolean attributeTo(InetAddress client) {
            synchronized (this) {
                if (closed) return false;
                if (remote == null || !guard.limits.trustedProxy.test(remote)) return true;
                // Promoted connections hold no slot; a client named again already holds this connection's slot
                // (its source may still be the old one while that one's bytes are in flight).
                if (promoted || client.equals(counted) || (counted == null && client.equals(bytesSource))) {
                    if (bytes.get() == 0) bytesSource = client;
                    return true;
                }
            }
            boolean trustedClient = guard.limits.trustedProxy.test(client);
            if (!trustedClient && !guard.acquire(client)) {
                guard.refusedPerSource.increment();
                LOG.warn(client, "connection limit for {} (via proxy {}) reached; refusing", client.getHostAddress(),
                        remote.getHostAddress());
                return false;
            }
            synchronized (this) {
                if (counted != null) guard.releaseSource(counted);
                counted = trustedClient ? null : client;
                if (closed && counted != null) {
                    guard.releaseSource(counted);
                    counted = null;
                }
                // Bytes in flight were charged to the old source and are given back to it.
                if (bytes.get() == 0) bytesSource = client;
            }
            return true;
        }

        /**
         * Reserves {@code n} request-body bytes against this connection, its source and the process. On refusal
         * nothing is reserved and the caller sheds the request (503).
         */
        public boolean reserve(long n) {
            Limits l = guard.limits;
            if (bytes.addAndGet(n) > l.bodyBytesPerConnection) {
                bytes.addAndGet(-n);
                return shed("connection");
            }
            InetAddress src = source();
            if (src != null && !guard.chargeSource(src, n)) {
                bytes.addAndGet(-n);
                return shed("source");
            }
            if (guard.totalBytes.addAndGet(n) > l.bodyBytesTotal) {
                guard.totalBytes.addAndGet(-n);
                if (src != null) guard.unchargeSource(src, n);
                bytes.addAndGet(-n);
                return shed("server");
            }
            return true;
        }

        /**
         * Reserves bytes of an authenticated upload (see {@link BodyLimiter.UploadGate}): only the server's budget
         * applies, as the per-connection and per-source budgets are sized for strangers.
         */
        public boolean reserveTrusted(long n) {
            if (guard.totalBytes.addAndGet(n) > guard.limits.bodyBytesTotal) {
                guard.totalBytes.addAndGet(-n);
                return shed("server");
            }
            return true;
        }

        public void releaseTrusted(long n) {
            if (n > 0) guard.totalBytes.addAndGet(-n);
        }

        /** Gives back bytes from {@link #reserve}. */
        public void release(long n) {
            if (n <= 0) return;
            bytes.addAndGet(-n);
            guard.totalBytes.addAndGet(-n);
            InetAddress src = source();
            if (src != null) guard.unchargeSource(src, n);
        }

        private boolean shed(String which) {
            guard.shedBodies.increment();
            LOG.warn(remote, "request body budget of the {} spent; shedding a request from {}", which,
                    remote == null ? "?" : remote.getHostAddress());
            return false;
        }

        private void closed() {
            synchronized (this) {
                closed = true;
                if (counted != null) {
                    guard.releaseSource(counted);
                    counted = null;
                }
            }
            guard.total.decrementAndGet();
        }
    }
}
