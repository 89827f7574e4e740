package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.netmap.NetworkMap;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The control warm-up logs a real ControlClient in to its made-up loopback server (key, ts2021, register, zstd map
 * stream) and gets the recorded netmap, the whole path a first {@code up} takes, and leaves nothing listening.
 */
class ControlWarmupTest {
    @Test
    void aRealClientLogsInToTheMadeUpServerAndGetsTheRecordedNetmap() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            NetworkMap nm = ControlWarmup.run(group, b -> {});
            assertThat(nm.self().name()).isEqualTo("lb.tailnet.test.");
            assertThat(nm.peers()).hasSize(1);
            // twice on one group: the first run closed its client and server cleanly
            assertThat(ControlWarmup.run(group, b -> {}).peers()).hasSize(1);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
        }
    }
}
