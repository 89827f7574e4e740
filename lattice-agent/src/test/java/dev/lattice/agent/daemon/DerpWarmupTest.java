package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.ipn.NetcheckReport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The training run's DERP warm-up relays a packet between two real clients through its made-up loopback relay, and
 * its netcheck hears the made-up STUN server: the code a node runs right after its first {@code up}.
 */
class DerpWarmupTest {
    @Test
    void aPacketIsRelayedAndTheNetcheckFindsTheMadeUpRegion() throws Exception {
        relaysTwice(NioIoHandler.newFactory(), b -> {});
    }

    /** latticed's own transport for its clients. */
    @Test
    void onEpollAsLatticedDials() throws Exception {
        Assumptions.assumeTrue(Epoll.isAvailable(), "epoll");
        relaysTwice(EpollIoHandler.newFactory(), b -> b.channel(EpollSocketChannel.class));
    }

    private static void relaysTwice(IoHandlerFactory transport, Consumer<Bootstrap> dialer) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, transport);
        try {
            NetcheckReport r = DerpWarmup.run(group, dialer);
            assertThat(r.udp()).as("STUN answered").isTrue();
            assertThat(r.globalV4()).startsWith("127.0.0.1:");
            assertThat(r.regionLatencySeconds()).containsKey(900);
            // twice on one group: the first run closed its clients, relay and STUN server
            assertThat(DerpWarmup.run(group, dialer).regionLatencySeconds()).containsKey(900);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
        }
    }
}
