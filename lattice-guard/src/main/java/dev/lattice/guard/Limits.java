package dev.lattice.guard;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * What one stranger, and all of them together, may hold of a server. Connections are either <em>anonymous</em>
 * (nothing proves who is on the other end yet) or <em>promoted</em> (a registered node proved itself). Anonymous
 * connections are capped per source address; every connection counts towards the total.
 *
 * <p>The defaults are sized from what real clients need: a Tailscale client holds one control connection and one
 * DERP connection, its register and map requests are a few KiB (Headscale allows 1 MiB), and Headscale gives every
 * request 30 s ({@code types.HTTPTimeout}).
 */
public final class Limits {
    /** Connections in total; beyond it new ones are closed at once. */
    public final int maxConnections;
    /** Anonymous connections per source address. */
    public final int maxAnonymousPerSource;
    /** Addresses whose connections are exempt from the per-source cap (reverse proxies, {@code trusted_proxies}). */
    public final Predicate<InetAddress> trustedProxy;
    /** A request must arrive whole within this: HTTP/1 from accept or the previous response, HTTP/2 from stream open. */
    public final Duration requestTimeout;
    /** An anonymous HTTP/2 connection with no open stream is closed after this. */
    public final Duration anonymousIdleTimeout;
    /** A promoted HTTP/2 connection with no open stream is closed after this. */
    public final Duration idleTimeout;
    /** Largest request body on an anonymous connection. */
    public final int maxAnonymousBody;
    /** Largest request body on a promoted connection. */
    public final int maxBody;
    /** Request-body bytes in flight (received, not yet handled) per connection, per source, and in total. */
    public final long bodyBytesPerConnection;
    public final long bodyBytesPerSource;
    public final long bodyBytesTotal;
    /** Concurrent HTTP/2 streams per connection. */
    public final int maxConcurrentStreams;

    private Limits(Builder b) {
        this.maxConnections = b.maxConnections;
        this.maxAnonymousPerSource = b.maxAnonymousPerSource;
        this.trustedProxy = b.trustedProxy;
        this.requestTimeout = b.requestTimeout;
        this.anonymousIdleTimeout = b.anonymousIdleTimeout;
        this.idleTimeout = b.idleTimeout;
        this.maxAnonymousBody = b.maxAnonymousBody;
        this.maxBody = b.maxBody;
        this.bodyBytesPerConnection = b.bodyBytesPerConnection;
        this.bodyBytesPerSource = b.bodyBytesPerSource;
        this.bodyBytesTotal = b.bodyBytesTotal;
        this.maxConcurrentStreams = b.maxConcurrentStreams;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxConnections = maxConnections;
        b.maxAnonymousPerSource = maxAnonymousPerSource;
        b.trustedProxy = trustedProxy;
        b.requestTimeout = requestTimeout;
        b.anonymousIdleTimeout = anonymousIdleTimeout;
        b.idleTimeout = idleTimeout;
        b.maxAnonymousBody = maxAnonymousBody;
        b.maxBody = maxBody;
        b.bodyBytesPerConnection = bodyBytesPerConnection;
        b.bodyBytesPerSource = bodyBytesPerSource;
        b.bodyBytesTotal = bodyBytesTotal;
        b.maxConcurrentStreams = maxConcurrentStreams;
        return b;
    }

    /**
     * The process's file-descriptor limit, or -1 when the platform does not tell. On Linux from
     * {@code /proc/self/limits}: the platform MXBean would load java.lang.management and JMX (~100 classes and a
     * notification thread) into every process that builds limits, latticed's peer API among them.
     */
    static long fileDescriptorLimit() {
        try {
            long fds = openFilesSoftLimit(Files.readString(Path.of("/proc/self/limits")));
            if (fds != -1) return fds;
        } catch (IOException | RuntimeException e) {
            // not Linux, or no /proc: ask the JVM
        }
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean u) {
            return u.getMaxFileDescriptorCount();
        }
        return -1;
    }

    /** The soft "Max open files" of a {@code /proc/<pid>/limits} text; {@link Long#MAX_VALUE} for unlimited, -1 if absent. */
    static long openFilesSoftLimit(String procLimits) {
        for (String line : procLimits.split("\n")) {
            if (!line.startsWith("Max open files")) continue;
            String[] f = line.substring("Max open files".length()).trim().split("\\s+");
            if (f.length == 0 || f[0].isEmpty()) return -1;
            if (f[0].equals("unlimited")) return Long.MAX_VALUE;
            try {
                return Long.parseLong(f[0]);
            } catch (NumberFormatException e) {
                return -1;
            }
        }
        return -1;
    }

    public static final class Builder {
        private int maxConnections;
        private int maxAnonymousPerSource = 256;
        private Predicate<InetAddress> trustedProxy = a -> false;
        private Duration requestTimeout = Duration.ofSeconds(30);
        private Duration anonymousIdleTimeout = Duration.ofSeconds(30);
        private Duration idleTimeout = Duration.ofMinutes(5);
        private int maxAnonymousBody = 64 << 10;
        private int maxBody = 1 << 20;
        private long bodyBytesPerConnection = 2L << 20;
        private long bodyBytesPerSource = 4L << 20;
        private long bodyBytesTotal;
        private int maxConcurrentStreams = 32;

        private Builder() {
            // Leave room under the descriptor limit for the database, the admin socket, logs and DERP's own use.
            long fds = fileDescriptorLimit();
            this.maxConnections = fds <= 0 ? 10_000 : (int) Math.max(64, Math.min(Integer.MAX_VALUE, fds - Math.min(1024, fds / 4)));
            // An eighth of the heap for bodies in flight, between 8 and 256 MiB.
            long heap = Runtime.getRuntime().maxMemory();
            this.bodyBytesTotal = Math.max(8L << 20, Math.min(256L << 20, heap / 8));
        }

        public Builder maxConnections(int n) {
            this.maxConnections = positive(n, "maxConnections");
            return this;
        }

        public Builder maxAnonymousPerSource(int n) {
            this.maxAnonymousPerSource = positive(n, "maxAnonymousPerSource");
            return this;
        }

        public Builder trustedProxy(Predicate<InetAddress> p) {
            this.trustedProxy = Objects.requireNonNull(p);
            return this;
        }

        public Builder requestTimeout(Duration d) {
            this.requestTimeout = positive(d, "requestTimeout");
            return this;
        }

        public Builder anonymousIdleTimeout(Duration d) {
            this.anonymousIdleTimeout = positive(d, "anonymousIdleTimeout");
            return this;
        }

        public Builder idleTimeout(Duration d) {
            this.idleTimeout = positive(d, "idleTimeout");
            return this;
        }

        public Builder maxAnonymousBody(int n) {
            this.maxAnonymousBody = positive(n, "maxAnonymousBody");
            return this;
        }

        public Builder maxBody(int n) {
            this.maxBody = positive(n, "maxBody");
            return this;
        }

        public Builder bodyBytes(long perConnection, long perSource, long total) {
            this.bodyBytesPerConnection = positive(perConnection, "bodyBytesPerConnection");
            this.bodyBytesPerSource = positive(perSource, "bodyBytesPerSource");
            this.bodyBytesTotal = positive(total, "bodyBytesTotal");
            return this;
        }

        public Builder maxConcurrentStreams(int n) {
            this.maxConcurrentStreams = positive(n, "maxConcurrentStreams");
            return this;
        }

        public Limits build() {
            if (maxAnonymousBody > maxBody) throw new IllegalArgumentException("maxAnonymousBody exceeds maxBody");
            return new Limits(this);
        }

        private static int positive(int n, String what) {
            if (n <= 0) throw new IllegalArgumentException(what + " must be positive, got " + n);
            return n;
        }

        private static long positive(long n, String what) {
            if (n <= 0) throw new IllegalArgumentException(what + " must be positive, got " + n);
            return n;
        }

        private static Duration positive(Duration d, String what) {
            if (d == null || d.isNegative() || d.isZero()) throw new IllegalArgumentException(what + " must be positive, got " + d);
            return d;
        }
    }
}
