package dev.lattice.agent.training;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.server.DerpServer;
import dev.lattice.derp.standalone.StandaloneDerper;
import dev.lattice.derp.stun.StunServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A DERP relay (plain HTTP) and a STUN server on the loopback interface, on a loop of their own; {@link #get()} gives
 * their ports, DERP's first. Made by {@link RelayLoader} only, and seen through the JDK's own interfaces, so that no
 * class of the relay's is loaded by latticed's class loader.
 */
public final class TrainingRelay implements Supplier<int[]>, AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final DerpServer server = new DerpServer(NodePrivateKey.generate());
    private final StunServer stun;
    private final StandaloneDerper relay;

    public TrainingRelay() throws IOException, InterruptedException {
        InetAddress lo = InetAddress.getLoopbackAddress();
        StunServer s = null;
        try {
            s = StunServer.start(new InetSocketAddress(lo, 0));
            relay = StandaloneDerper.start(server, new InetSocketAddress(lo, 0), null, group);
        } catch (IOException | InterruptedException | RuntimeException e) {
            if (s != null) s.close();
            server.close();
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
        stun = s;
    }

    @Override
    public int[] get() {
        return new int[] {relay.boundAddress().getPort(), stun.boundAddress().getPort()};
    }

    @Override
    public void close() {
        try {
            relay.close(); // and its server
            stun.close();
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly(2_000);
        }
    }
}
