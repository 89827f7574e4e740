package dev.lattice.wireguard.interop;

import static dev.lattice.wireguard.interop.WgTunnel.B4;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * WireGuard rekeys a session after REKEY_AFTER_TIME = 120 s. For each {@link WgPair#rekey() pair}, A pings
 * first (so A initiated the session and must start the rekey), then a 20 Mbit/s TCP transfer A -> B runs for
 * 135 s; afterwards both sides' latest-handshake must have advanced, and the transfer must have run to the
 * end with data in every one-second interval.
 *
 * <p>The pairs run concurrently (in separate labs), started when the factory is called, so the whole class
 * takes about 140 s however many pairs there are; each pair is reported as its own dynamic test. The class runs
 * beside the module's other test classes (junit-platform.properties): it waits for a timer, at 20 Mbit/s.
 */
@Tag("netns")
@Tag("slow")
@Execution(value = ExecutionMode.CONCURRENT, reason = "140 s of waiting for the rekey timer at a light load")
class WireGuardRekeyInteropTest {
    static final int TRANSFER_SECONDS = 135;

    @TestFactory
    Stream<DynamicTest> rekeyDuringLongTransfer() {
        List<WgPair> pairs = WgPair.rekey();
        Map<WgPair, CompletableFuture<Void>> runs = new LinkedHashMap<>();
        boolean labOk = Lab.support("wg", "ping", "iperf3", "ss", "bash").available();
        for (WgPair p : pairs) {
            if (labOk && p.availability().available()) {
                runs.put(p, CompletableFuture.runAsync(() -> rekeyRun(p),
                        r -> Thread.ofPlatform().name("rekey " + p).start(r)));
            }
        }
        return pairs.stream().map(p -> DynamicTest.dynamicTest(p.toString(), () -> {
            WgTunnel.assumeRunnable(p);
            try {
                runs.get(p).get(TRANSFER_SECONDS + 120, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw e.getCause();
            }
        }));
    }

    private static void rekeyRun(WgPair pair) {
        try (WgTunnel t = WgTunnel.start(pair)) {
            Host.PingResult p = t.ping(t.a, t.b, false);
            assertThat(p.anyReceived()).as(() -> "A -> B ping (A initiates)\n" + p.exec() + "\n" + t.diagnostics())
                    .isTrue();
            long hsA0 = t.a.latestHandshake(t.b.publicKey);
            long hsB0 = t.b.latestHandshake(t.a.publicKey);

            Iperf.Result r = Iperf.run(t.hostB, B4, t.hostA, Duration.ofSeconds(TRANSFER_SECONDS + 60),
                    "-b", "20M", "-t", Integer.toString(TRANSFER_SECONDS));

            long hsA1 = t.a.latestHandshake(t.b.publicKey);
            long hsB1 = t.b.latestHandshake(t.a.publicKey);
            String hs = "latest handshake A: " + hsA0 + " -> " + hsA1 + " (+" + (hsA1 - hsA0) + " s), B: " + hsB0
                    + " -> " + hsB1 + " (+" + (hsB1 - hsB0) + " s)";
            System.out.printf("rekey %s: %s; %d bytes received in %.1f s, %d of %d intervals empty%n", pair, hs,
                    r.bytesReceived(), r.seconds(), r.zeroIntervals(), r.intervalBytes().size());
            assertThat(r.clientOk()).as(() -> "iperf3 client ran to the end\n" + hs + "\n" + r.describe() + "\n"
                    + t.diagnostics()).isTrue();
            assertThat(r.seconds()).as(() -> "transfer duration\n" + r.describe())
                    .isGreaterThanOrEqualTo(TRANSFER_SECONDS - 1);
            assertThat(r.bytesReceived()).as(() -> "bytes received\n" + r.describe()).isPositive();
            assertThat(r.zeroIntervals()).as(() -> "one-second intervals without data (stall during rekey?)\n"
                    + hs + "\n" + r.describe() + "\n" + t.diagnostics()).isZero();
            assertThat(hsA1).as(() -> "A rekeyed: " + hs + "\n" + t.diagnostics()).isGreaterThan(hsA0);
            assertThat(hsB1).as(() -> "B rekeyed: " + hs + "\n" + t.diagnostics()).isGreaterThan(hsB0);
            assertThat(t.a.responsive() && t.b.responsive()).as(() -> "daemons alive\n" + t.diagnostics()).isTrue();
        }
    }
}
