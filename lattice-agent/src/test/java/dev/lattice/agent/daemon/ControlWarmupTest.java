package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.netmap.NetworkMap;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The control warm-up logs a real ControlClient in to its made-up loopback server (key, ts2021, register, zstd map
 * stream) and gets the recorded netmap, the whole path a first {@code up} takes, and leaves nothing listening.
 */
class ControlWarmupTest {
    @Test
    void aRealClientLogsInToTheMadeUpServerAndGetsTheRecordedNetmap() throws Exception {
        logsInTwice(NioIoHandler.newFactory(), b -> {});
    }

    /** latticed's own transport: the server runs on the daemon's epoll loop (no NIO transport beside it). */
    @Test
    void onEpollTheServerSharesTheDaemonsLoop() throws Exception {
        Assumptions.assumeTrue(Epoll.isAvailable(), "epoll");
        logsInTwice(EpollIoHandler.newFactory(), b -> b.channel(EpollSocketChannel.class)); // as latticed dials
    }

    private static void logsInTwice(IoHandlerFactory transport, Consumer<Bootstrap> dialer) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, transport);
        try {
            NetworkMap nm = ControlWarmup.run(group, dialer);
            assertThat(nm.self().name()).isEqualTo("lb.tailnet.test.");
            assertThat(nm.peers()).hasSize(1);
            // twice on one group: the first run closed its client and server cleanly
            assertThat(ControlWarmup.run(group, dialer).peers()).hasSize(1);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
        }
    }
}
