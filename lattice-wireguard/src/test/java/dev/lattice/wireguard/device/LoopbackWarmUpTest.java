package dev.lattice.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.wire.ip.VirtioNetHdr;
import dev.lattice.wireguard.tun.LinuxTun;
import dev.lattice.wireguard.tun.TunDevice;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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

    /** Each thread of this JVM whose name (its first 15 characters) matches {@code regex}: its nice value. */
    static java.util.Map<String, Integer> niceOfThreads(String regex) throws IOException {
        java.util.Map<String, Integer> out = new java.util.TreeMap<>();
        try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
            for (var t : tasks.toList()) {
                try {
                    String comm = java.nio.file.Files.readString(t.resolve("comm")).strip();
                    String stat = java.nio.file.Files.readString(t.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    if (comm.matches(regex)) out.put(comm + "/" + t.getFileName(), Integer.parseInt(f[16])); // field 19
                } catch (java.nio.file.NoSuchFileException gone) {
                    // a thread that ended meanwhile
                }
            }
        }
        return out;
    }

    @Test
    void theWarmUpsThreadsRunNicedSoThatTheUsersCommandsComeFirst() throws Exception {
        java.util.Map<String, Integer> seen = new java.util.TreeMap<>();
        CompilerActivity compilers = new CompilerActivity(() -> 0L, 0, 0.1);
        LoopbackWarmUp.run(1, LoopbackWarmUp.DEADLINE_NANOS, () -> false, () -> {
            try {
                // the warm-up devices' threads are named after their TUNs, warm-a, warm-b, warm-r
                if (seen.isEmpty()) seen.putAll(niceOfThreads("wg-[a-z-]+-w.*|warm-.*"));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return false;
        }, UnaryOperator.identity(), Device.WarmUpLink.DIRECT, compilers);
        // Readers and pipeline workers of both devices, and the made-up kernel sides' writers and readers.
        assertThat(seen.keySet()).anyMatch(n -> n.startsWith("wg-tun-reader-w")).anyMatch(n -> n.startsWith("wg-udp-reader-w"))
                .anyMatch(n -> n.startsWith("wg-decrypt-warm")).anyMatch(n -> n.startsWith("wg-encrypt-warm"))
                .anyMatch(n -> n.startsWith("warm-a-kernel-t")).anyMatch(n -> n.startsWith("warm-b-kernel-r"));
        assertThat(seen).as("every warm-up thread, niced").allSatisfy((n, nice) -> assertThat(nice).as(n).isEqualTo(Device.BACKGROUND_NICE));
        String self = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/thread-self/stat"));
        assertThat(self.substring(self.lastIndexOf(')') + 2).split(" ")[16]).as("the rest of the JVM is not: this thread").isEqualTo("0");
    }

    @Test
    void theMadeUpTunStopsAfterItsRound() throws Exception {
        try (LoopbackWarmUp.Flow t = new LoopbackWarmUp.Flow("t", 1, 2)) {
            assertThat(t.next()).as("nothing before the flow starts").isNull();
            t.flowing = true;
            t.left = LoopbackWarmUp.ROUND;
            int supers = 0, small = 0, ipv6 = 0, syns = 0, singles = 0, pushes = 0, acks = 0;
            for (int i = 0; i < 4 * LoopbackWarmUp.ROUND; i++) {
                byte[] p = t.next();
                if (p == null) continue;
                if (p[1] == VirtioNetHdr.GSO_TCPV4) supers++;
                if (p[1] == VirtioNetHdr.GSO_TCPV4 && p.length < LoopbackWarmUp.SUPER_PACKET) small++;
                if ((p[VirtioNetHdr.SIZE] & 0xf0) == 0x60) ipv6++;
                if ((p[VirtioNetHdr.SIZE] & 0xf0) == 0x40 && p[VirtioNetHdr.SIZE + 33] == 0x02) syns++;
                if (p[1] == VirtioNetHdr.GSO_NONE && p.length == VirtioNetHdr.SIZE + 40 + LoopbackWarmUp.Flow.SINGLE_PAYLOAD) singles++;
                if ((p.length == VirtioNetHdr.SIZE + 40 || p.length == VirtioNetHdr.SIZE + 52) && (p[VirtioNetHdr.SIZE + 33] & 0x12) == 0x10) acks++;
                if (p[1] == VirtioNetHdr.GSO_NONE && p.length == VirtioNetHdr.SIZE + 52 + LoopbackWarmUp.Flow.SINGLE_PAYLOAD
                        && (p[VirtioNetHdr.SIZE + 33] & 0x08) != 0) pushes++;
            }
            assertThat(supers).isEqualTo(LoopbackWarmUp.ROUND);
            assertThat(small).as("small super-packets: calls per burst for less crypto").isBetween(LoopbackWarmUp.ROUND / 3, LoopbackWarmUp.ROUND * 2 / 3);
            assertThat(acks).as("pure acks, at least one per super-packet: the small-packet cipher's calls").isGreaterThanOrEqualTo(supers);
            assertThat(ipv6).as("IPv6 packets with nowhere to go, as the kernel sends on a real TUN").isPositive();
            assertThat(syns).as("SYNs: new connections for the packet filter's rules").isPositive();
            assertThat(singles).as("single data packets without PSH").isPositive();
            assertThat(pushes).as("single data packets with PSH, as a small write").isPositive();
            assertThat(t.next()).isNull();
        }
    }

    @Test
    void theDeviceEndIsTheRealTunsCodeOverASocketPair() throws Exception {
        try (LoopbackWarmUp.Flow t = new LoopbackWarmUp.Flow("t", 1, 2)) {
            assertThat(t.deviceEnd).isInstanceOf(LinuxTun.class);
            assertThat(t.deviceEnd.mtu()).isEqualTo(Device.DEFAULT_MTU);
            assertThat(t.deviceEnd.vnetHdr()).isTrue();
            t.start();
            t.flowing = true;
            t.round(3);
            byte[] buf = new byte[70_000];
            int supers = 0;
            for (int i = 0; i < 20 && supers < 3; i++) {
                int n = t.deviceEnd.read(buf, 0, buf.length, 2_000);
                if (n > LoopbackWarmUp.SUPER_PACKET) supers++;
            }
            assertThat(supers).as("super-packets read whole, one per read").isEqualTo(3);
            t.deviceEnd.write(buf, 0, 1_000);
            long until = System.nanoTime() + 2_000_000_000L;
            while (t.delivered.get() < 1_000 && System.nanoTime() < until) Thread.sleep(5);
            assertThat(t.delivered.get()).as("what the device wrote, counted by the kernel side").isEqualTo(1_000);
        }
    }

    @Test
    void stoppingDoesNotHangOnADeviceThatStoppedReading() throws Exception {
        try (LoopbackWarmUp.Flow t = new LoopbackWarmUp.Flow("t", 1, 2)) {
            t.start();
            t.flowing = true;
            t.round(LoopbackWarmUp.ROUND); // far more than the pair's buffer holds: the writer blocks in a write
            Thread.sleep(300);
            long t0 = System.nanoTime();
            assertThat(t.stop()).as("the writer is still in its write").isFalse();
            assertThat(System.nanoTime() - t0).isLessThan(LoopbackWarmUp.Flow.STOP_WAIT_NANOS + 1_000_000_000L);
            t.deviceEnd.close(); // as its device's close does
            assertThat(t.stop()).as("the write failed on the closed end").isTrue();
        }
    }

    @Test
    void itGoesOnWhileTheCompilersAreBusyAndThenAsManyRoundsAsThePerBurstMethodsNeed() throws Exception {
        // Busy (a tick more than the whole window at each look) for the first 20 looks, then quiet.
        AtomicInteger looks = new AtomicInteger();
        CompilerActivity compilers = new CompilerActivity(() -> Math.min(looks.incrementAndGet(), 20) * 1_000L, 0, 0.1);
        LoopbackWarmUp.Outcome o = LoopbackWarmUp.run(1, LoopbackWarmUp.DEADLINE_NANOS, () -> false, () -> false, UnaryOperator.identity(),
                Device.WarmUpLink.DIRECT, compilers);
        assertThat(o.bytes()).isGreaterThan(1_000_000);
        assertThat(looks.get()).as("looks at the compilers before they were quiet").isGreaterThan(20);
        assertThat(o.rounds()).as("rounds: the busy ones, then those the per-burst methods need at C1's tier 3")
                .isEqualTo(looks.get() - 1 + LoopbackWarmUp.QUIET_ROUNDS);
    }

    @Test
    void quietCompilersAloneDoNotEndIt() throws Exception {
        // Quiet from the first look: C1's profiling code gives the compilers nothing to do until its counts are in.
        CompilerActivity compilers = new CompilerActivity(() -> 0L, 0, 0.1);
        LoopbackWarmUp.Outcome o = LoopbackWarmUp.run(1, LoopbackWarmUp.DEADLINE_NANOS, () -> false, () -> false, UnaryOperator.identity(),
                Device.WarmUpLink.DIRECT, compilers);
        assertThat(o.rounds()).as("the first look only opens a window").isEqualTo(2 + LoopbackWarmUp.QUIET_ROUNDS);
    }

    @Test
    void theFlowMeetsWhatAFirstRealTransferMeets() throws Exception {
        CompilerActivity compilers = new CompilerActivity(() -> 0L, 0, 0.1);
        LoopbackWarmUp.Outcome o = LoopbackWarmUp.run(1, LoopbackWarmUp.DEADLINE_NANOS, () -> false, () -> false, UnaryOperator.identity(),
                Device.WarmUpLink.DIRECT, compilers);
        assertThat(o.rounds()).isGreaterThanOrEqualTo(2 * LoopbackWarmUp.REKEY_EVERY);
        assertThat(o.sessions()).as("new sessions while the flow ran (each device initiates in turn)").isGreaterThanOrEqualTo(2);
        assertThat(o.replayed()).as("packets out of order and replays, after a keepalive from ahead").isPositive();
        assertThat(o.unknownIndex()).as("transport messages for an index nobody has").isPositive();
        assertThat(o.bytes()).as("the flow went on through all of it").isGreaterThan(1_000_000);
    }

    @Test
    void whileAnUpIsInProgressNoRoundStartsAndTheDeadlineWaits() throws Exception {
        long t0 = System.nanoTime();
        long pauseEnd = t0 + 2_000_000_000L;
        AtomicLong firstBulkRead = new AtomicLong();
        UnaryOperator<TunDevice> watch = tun -> new TunDevice() {
            @Override public String name() { return tun.name(); }
            @Override public int mtu() throws IOException { return tun.mtu(); }
            @Override public boolean vnetHdr() { return tun.vnetHdr(); }
            @Override public void write(byte[] b, int off, int len) throws IOException { tun.write(b, off, len); }
            @Override public void close() { tun.close(); }
            @Override public int read(byte[] b, int off, int max, int timeoutMillis) throws IOException {
                int n = tun.read(b, off, max, timeoutMillis);
                if (n > LoopbackWarmUp.SMALL_SUPER_PACKET) firstBulkRead.compareAndSet(0, System.nanoTime());
                return n;
            }
        };
        LoopbackWarmUp.Outcome o = LoopbackWarmUp.run(1, 1_500_000_000L, () -> false, () -> System.nanoTime() < pauseEnd,
                watch, Device.WarmUpLink.DIRECT, new CompilerActivity(() -> 0L, 0, 0.1));
        assertThat(firstBulkRead.get()).as("the first round began after the pause").isGreaterThanOrEqualTo(pauseEnd);
        assertThat(o.rounds()).as("rounds within the 1.5 s deadline, which the 2 s pause did not use up").isGreaterThanOrEqualTo(3);
    }

    @Test
    void whileTheyStayBusyItStopsAtItsDeadline() throws Exception {
        AtomicInteger looks = new AtomicInteger();
        CompilerActivity compilers = new CompilerActivity(() -> looks.incrementAndGet() * 1_000L, 0, 0.1);
        long t0 = System.nanoTime();
        LoopbackWarmUp.run(1, 1_500_000_000L, () -> false, () -> false, UnaryOperator.identity(), Device.WarmUpLink.DIRECT, compilers);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        // then up to a second to close: each device's TUN and UDP readers see the close at their next poll (500 ms)
        assertThat(ms).isBetween(1_400L, 6_000L).isLessThan(LoopbackWarmUp.DEADLINE_NANOS / 1_000_000);
    }
}
