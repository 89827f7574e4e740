package dev.lattice.systemd;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A daemon's stop either finishes on its own or ends the process with SIGTERM's status after the deadline. */
class StopDeadlineTest {
    final List<String> reports = new CopyOnWriteArrayList<>();
    final List<Integer> halts = new CopyOnWriteArrayList<>();

    @Test
    void aCloseThatFinishesInTimeHaltsNothingAndReportsNothing() throws Exception {
        boolean[] ran = {false};
        StopDeadline.run(() -> ran[0] = true, Duration.ofMillis(200), reports::add, halts::add);
        Thread.sleep(400); // past the deadline: the watchdog must have stood down
        assertThat(ran[0]).isTrue();
        assertThat(halts).isEmpty();
        assertThat(reports).isEmpty();
    }

    @Test
    void aCloseThatHangsIsCutShortWithSigtermsStatusAndItsPlaceIsReported() throws Exception {
        CountDownLatch halted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread closer = Thread.ofPlatform().start(() -> StopDeadline.run(() -> hangUntil(release),
                Duration.ofMillis(150), reports::add, status -> {
                    halts.add(status);
                    halted.countDown();
                }));
        assertThat(halted.await(5, TimeUnit.SECONDS)).as("halted after the deadline").isTrue();
        assertThat(halts).containsExactly(143);
        assertThat(reports).singleElement().asString()
                .contains("did not finish within 150 ms")
                .contains("StopDeadlineTest.hangUntil:");
        release.countDown();
        closer.join(5000);
    }

    @Test
    void theReportNamesTheInnermostFramesFirst() {
        StackTraceElement[] stack = {
                new StackTraceElement("jdk.internal.misc.Unsafe", "park", "Unsafe.java", -2),
                new StackTraceElement("java.util.concurrent.locks.LockSupport", "park", "LockSupport.java", 371),
                new StackTraceElement("io.netty.util.concurrent.DefaultPromise", "await", "DefaultPromise.java", 250),
                new StackTraceElement("dev.lattice.control.server.ControlServer", "close", "ControlServer.java", 615),
        };
        assertThat(StopDeadline.where(stack)).isEqualTo("Unsafe.park < DefaultPromise.await:250 < ControlServer.close:615");
        assertThat(StopDeadline.where(new StackTraceElement[0])).isEqualTo("an unknown place");
    }

    static void hangUntil(CountDownLatch release) {
        try {
            release.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
