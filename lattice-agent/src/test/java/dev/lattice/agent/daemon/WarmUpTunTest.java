package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.tstun.FilteringTun;
import dev.lattice.wireguard.conn.UdpSocket;
import dev.lattice.wireguard.device.Clock;
import dev.lattice.wireguard.device.Device;
import dev.lattice.wireguard.tun.TunDevice;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
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
