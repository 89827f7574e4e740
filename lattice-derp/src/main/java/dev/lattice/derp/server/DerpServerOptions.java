package dev.lattice.derp.server;

import dev.lattice.wire.derp.MeshKey;
import java.time.Duration;
import java.util.Objects;

/**
 * Server settings. {@code meshKey} null = no meshing. {@code queueDepth} packets are queued per client (and as many
 * again for disco); when full the oldest is dropped, as Go's server does. A client whose socket stays unwritable for
 * {@code writeTimeout} (mesh peers: 30 s) is disconnected. {@code writeBufferHighWaterMark} bounds what Netty
 * buffers per connection beyond the queue.
 */
public record DerpServerOptions(MeshKey meshKey, ClientVerifier verifier, int queueDepth, Duration writeTimeout,
                                Duration keepAlive, Duration handshakeTimeout, int writeBufferHighWaterMark) {
    public DerpServerOptions {
        Objects.requireNonNull(verifier, "verifier");
        if (queueDepth < 1) throw new IllegalArgumentException("queueDepth must be at least 1");
        Objects.requireNonNull(writeTimeout, "writeTimeout");
        Objects.requireNonNull(keepAlive, "keepAlive");
        Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
        if (writeBufferHighWaterMark < 1024) throw new IllegalArgumentException("writeBufferHighWaterMark too small");
    }

    /** Go's defaults: 32 packets per queue, 2 s write timeout, 60 s keep-alive, 10 s handshake, admit everyone. */
    public static DerpServerOptions defaults() {
        return new DerpServerOptions(null, ClientVerifier.ALLOW_ALL, 32, Duration.ofSeconds(2), Duration.ofSeconds(60),
                Duration.ofSeconds(10), 128 * 1024);
    }

    public DerpServerOptions withMeshKey(MeshKey k) {
        return new DerpServerOptions(k, verifier, queueDepth, writeTimeout, keepAlive, handshakeTimeout, writeBufferHighWaterMark);
    }

    public DerpServerOptions withVerifier(ClientVerifier v) {
        return new DerpServerOptions(meshKey, v, queueDepth, writeTimeout, keepAlive, handshakeTimeout, writeBufferHighWaterMark);
    }

    public DerpServerOptions withQueueDepth(int n) {
        return new DerpServerOptions(meshKey, verifier, n, writeTimeout, keepAlive, handshakeTimeout, writeBufferHighWaterMark);
    }

    public DerpServerOptions withWriteTimeout(Duration d) {
        return new DerpServerOptions(meshKey, verifier, queueDepth, d, keepAlive, handshakeTimeout, writeBufferHighWaterMark);
    }

    public DerpServerOptions withKeepAlive(Duration d) {
        return new DerpServerOptions(meshKey, verifier, queueDepth, writeTimeout, d, handshakeTimeout, writeBufferHighWaterMark);
    }

    public DerpServerOptions withHandshakeTimeout(Duration d) {
        return new DerpServerOptions(meshKey, verifier, queueDepth, writeTimeout, keepAlive, d, writeBufferHighWaterMark);
    }

    public DerpServerOptions withWriteBufferHighWaterMark(int bytes) {
        return new DerpServerOptions(meshKey, verifier, queueDepth, writeTimeout, keepAlive, handshakeTimeout, bytes);
    }
}
