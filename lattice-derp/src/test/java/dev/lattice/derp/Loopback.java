package dev.lattice.derp;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.client.DerpClient;
import dev.lattice.derp.client.DerpClientOptions;
import dev.lattice.derp.server.DerpServer;
import dev.lattice.derp.server.DerpServerOptions;
import dev.lattice.derp.standalone.StandaloneDerper;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/** DERP servers and clients on 127.0.0.1 sharing one event loop group; closes everything it made. */
public final class Loopback implements AutoCloseable {
    public final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final List<AutoCloseable> closeables = new ArrayList<>();

    public StandaloneDerper server(DerpServerOptions options) throws InterruptedException {
        return server(NodePrivateKey.generate(), options);
    }

    public StandaloneDerper server(NodePrivateKey key, DerpServerOptions options) throws InterruptedException {
        StandaloneDerper d = StandaloneDerper.start(new DerpServer(key, options), new InetSocketAddress("127.0.0.1", 0), null, group);
        closeables.add(d);
        return d;
    }

    public static URI url(StandaloneDerper d) {
        return URI.create("http://127.0.0.1:" + d.boundAddress().getPort() + "/derp");
    }

    public DerpClient client(StandaloneDerper d, Recorder r) {
        return client(url(d), NodePrivateKey.generate(), DerpClientOptions.defaults().withReconnect(false), r);
    }

    public DerpClient client(URI url, NodePrivateKey key, DerpClientOptions o, Recorder r) {
        DerpClient c = new DerpClient(url, key, o, group, r);
        closeables.add(c);
        return c;
    }

    public <T extends AutoCloseable> T add(T c) {
        closeables.add(c);
        return c;
    }

    @Override
    public void close() {
        for (AutoCloseable c : closeables.reversed()) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }
}
