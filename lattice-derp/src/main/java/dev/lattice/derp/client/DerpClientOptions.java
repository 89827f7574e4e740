package dev.lattice.derp.client;

import dev.lattice.wire.derp.MeshKey;
import io.netty.bootstrap.Bootstrap;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Client settings. {@code insecureForTests} skips TLS certificate checks (tailcfg's DERPNode.InsecureForTests).
 * {@code reconnect}: after a failed attempt or a lost connection, try again with exponential backoff from
 * {@code minBackoff} to {@code maxBackoff} (with jitter), reset by each successful handshake. {@code dialer} is
 * applied to each connection's bootstrap last (channel type matching the event loop group, socket options such as a
 * VPN daemon's bypass mark).
 */
public record DerpClientOptions(MeshKey meshKey, boolean insecureForTests, boolean canAckPings, boolean watchConns,
                                boolean reconnect, Duration minBackoff, Duration maxBackoff, Duration connectTimeout,
                                Duration readTimeout, Consumer<Bootstrap> dialer) {
    public DerpClientOptions {
        if (dialer == null) dialer = b -> {};
    }

    public static DerpClientOptions defaults() {
        return new DerpClientOptions(null, false, true, false, true, Duration.ofMillis(250), Duration.ofSeconds(30),
                Duration.ofSeconds(10), Duration.ofSeconds(120), null);
    }

    public DerpClientOptions withDialer(Consumer<Bootstrap> d) {
        return new DerpClientOptions(meshKey, insecureForTests, canAckPings, watchConns, reconnect, minBackoff, maxBackoff, connectTimeout, readTimeout, d);
    }

    /** A server's connection to another server of its region: mesh key, connection watching, long write grace. */
    public static DerpClientOptions mesh(MeshKey meshKey) {
        return defaults().withMeshKey(meshKey).withWatchConns(true);
    }

    public DerpClientOptions withMeshKey(MeshKey k) {
        return new DerpClientOptions(k, insecureForTests, canAckPings, watchConns, reconnect, minBackoff, maxBackoff, connectTimeout, readTimeout, dialer);
    }

    public DerpClientOptions withInsecureForTests(boolean v) {
        return new DerpClientOptions(meshKey, v, canAckPings, watchConns, reconnect, minBackoff, maxBackoff, connectTimeout, readTimeout, dialer);
    }

    public DerpClientOptions withWatchConns(boolean v) {
        return new DerpClientOptions(meshKey, insecureForTests, canAckPings, v, reconnect, minBackoff, maxBackoff, connectTimeout, readTimeout, dialer);
    }

    public DerpClientOptions withReconnect(boolean v) {
        return new DerpClientOptions(meshKey, insecureForTests, canAckPings, watchConns, v, minBackoff, maxBackoff, connectTimeout, readTimeout, dialer);
    }

    public DerpClientOptions withBackoff(Duration min, Duration max) {
        return new DerpClientOptions(meshKey, insecureForTests, canAckPings, watchConns, reconnect, min, max, connectTimeout, readTimeout, dialer);
    }

    public DerpClientOptions withReadTimeout(Duration d) {
        return new DerpClientOptions(meshKey, insecureForTests, canAckPings, watchConns, reconnect, minBackoff, maxBackoff, connectTimeout, d, dialer);
    }
}
