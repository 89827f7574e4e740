package dev.lattice.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.wire.ip.VirtioNetHdr;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** The loopback warm-up really moves bulk data both ways through two devices' offload paths, and ends. */
class LoopbackWarmUpTest {
    @Test
    void aBulkTransferFlowsBothWaysOverLoopbackAndStops() throws Exception {
        int before = Thread.activeCount();
        long t0 = System.nanoTime();
        long bytes = LoopbackWarmUp.run();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        // Loopback UDP may drop under load (no SO_RCVBUFFORCE without root), so not every byte: but megabytes.
        assertThat(bytes).as("bytes the quieter side got").isGreaterThan(1_000_000);
        assertThat(ms).isLessThan(LoopbackWarmUp.DEADLINE_NANOS / 1_000_000 + 3_000);
        Thread.sleep(600); // pipeline workers poll for 500 ms before they see the close
        assertThat(Thread.activeCount()).as("threads left behind").isLessThanOrEqualTo(before + 1);
    }

    @Test
    void theMadeUpTunStopsAfterItsRound() {
        LoopbackWarmUp.FlowTun t = new LoopbackWarmUp.FlowTun("t", 1, 2);
        byte[] buf = new byte[20_000];
        assertThat(t.read(buf, 0, buf.length, 1)).as("nothing before the flow starts").isZero();
        t.flowing = true;
        t.left = LoopbackWarmUp.ROUND;
        int supers = 0, ipv6 = 0;
        for (int i = 0; i < 2 * LoopbackWarmUp.ROUND; i++) {
            int n = t.read(buf, 0, buf.length, 1);
            if (n > LoopbackWarmUp.SUPER_PACKET) supers++;
            if (n > VirtioNetHdr.SIZE && (buf[VirtioNetHdr.SIZE] & 0xf0) == 0x60) ipv6++;
        }
        assertThat(supers).isEqualTo(LoopbackWarmUp.ROUND);
        assertThat(ipv6).as("IPv6 packets with nowhere to go, as the kernel sends on a real TUN").isPositive();
        assertThat(t.read(buf, 0, buf.length, 1)).isZero();
    }

    @Test
    void itGoesOnWhileTheCompilersAreBusy() throws Exception {
        // Busy (a tick more than the whole window at each look) for the first 20 looks, then quiet.
        AtomicInteger looks = new AtomicInteger();
        CompilerActivity compilers = new CompilerActivity(() -> Math.min(looks.incrementAndGet(), 20) * 1_000L, 0, 0.1);
        long bytes = LoopbackWarmUp.run(1, LoopbackWarmUp.DEADLINE_NANOS, () -> false, UnaryOperator.identity(), Device.WarmUpLink.DIRECT, compilers);
        assertThat(bytes).isGreaterThan(1_000_000);
        assertThat(looks.get()).as("looks at the compilers before it stopped").isGreaterThan(20);
    }

    @Test
    void whileTheyStayBusyItStopsAtItsDeadline() throws Exception {
        AtomicInteger looks = new AtomicInteger();
        CompilerActivity compilers = new CompilerActivity(() -> looks.incrementAndGet() * 1_000L, 0, 0.1);
        long t0 = System.nanoTime();
        LoopbackWarmUp.run(1, 1_500_000_000L, () -> false, UnaryOperator.identity(), Device.WarmUpLink.DIRECT, compilers);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(ms).isBetween(1_400L, 4_500L);
    }
}
