package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.magicsock.WarmUpLink;
import dev.lattice.agent.tstun.FilteringTun;
import dev.lattice.wireguard.conn.UdpSocket;
import dev.lattice.wireguard.device.Clock;
import dev.lattice.wireguard.device.Device;
import dev.lattice.wireguard.tun.TunDevice;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * latticed's data path warm-up runs through the packet-filtering TUN its real device uses, with a filter that lets
 * the warm-up's flows through: both throwaway devices get one, bulk data crosses it both ways, nothing is dropped.
 */
class WarmUpTunTest {
    @Test
    void theWarmUpFlowsThroughFilteringTunsAndNothingIsDropped() throws Exception {
        List<FilteringTun> made = new CopyOnWriteArrayList<>();
        try (Device device = new Device(new IdleTun(), UdpSocket::open, Clock.SYSTEM)) {
            long bytes = device.warmUpLoopback(t -> {
                FilteringTun f = (FilteringTun) LocalBackend.warmUpTun(t);
                made.add(f);
                return f;
            });
            assertThat(made).hasSize(2);
            // Loopback UDP may drop some under load (no SO_RCVBUFFORCE without root), but megabytes get through.
            assertThat(bytes).as("bytes the quieter side's filter let through").isGreaterThan(1_000_000);
            for (FilteringTun f : made) assertThat(f.droppedInbound()).as("packets the warm-up's filter dropped").isZero();
        }
    }

    @Test
    void linkedByMagicSocketsTheWarmUpTakesTheirPaths() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (Device device = new Device(new IdleTun(), UdpSocket::open, Clock.SYSTEM)) {
            WarmUpLink link = new WarmUpLink(group);
            long bytes = device.warmUpLoopback(LocalBackend::warmUpTun, link);
            // The peers' endpoints are virtual: without the magic sockets' direct paths nothing would get through.
            assertThat(bytes).isGreaterThan(1_000_000);
            assertThat(link.pongsReceived()).as("disco pongs: paths proven over loopback").isPositive();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /** The real device's TUN, which this test never starts. */
    private static final class IdleTun implements TunDevice {
        @Override
        public String name() {
            return "idle";
        }

        @Override
        public int mtu() {
            return 1280;
        }

        @Override
        public int read(byte[] buf, int off, int max, int timeoutMillis) {
            return 0;
        }

        @Override
        public void write(byte[] buf, int off, int len) {}

        @Override
        public void close() {}
    }
}
