package dev.lattice.guard;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link LogLimiter} with a clock the test moves: whatever strangers send, the log grows by a bounded amount. */
class LogLimiterTest {
    final CapturedLog log = CapturedLog.fresh(Level.INFO);
    final AtomicLong now = new AtomicLong(1_000_000_000_000L);

    @AfterEach
    void detach() {
        log.close();
    }

    LogLimiter limiter(Duration interval, int burstPerSecond) {
        return new LogLimiter(log.logger, interval, burstPerSecond, now::get);
    }

    void elapse(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void oneLinePerSourcePerInterval() {
        LogLimiter l = limiter(Duration.ofMinutes(1), 100);
        assertThat(l.warn("192.0.2.1", "bad frame {}", 1)).isTrue();
        elapse(Duration.ofSeconds(10));
        assertThat(l.warn("192.0.2.1", "bad frame {}", 2)).isFalse();
        assertThat(l.warn("192.0.2.1", "bad frame {}", 3)).isFalse();
        assertThat(l.warn("192.0.2.2", "bad frame {}", 4)).as("another source has its own allowance").isTrue();
        elapse(Duration.ofSeconds(49));
        assertThat(l.warn("192.0.2.1", "bad frame {}", 5)).as("59 s after its line").isFalse();
        elapse(Duration.ofSeconds(1));

        assertThat(l.warn("192.0.2.1", "bad frame {}", 6)).isTrue();

        assertThat(log.lines()).containsExactly(
                "bad frame 1",
                "bad frame 4",
                "bad frame 6 (3 similar from 192.0.2.1 suppressed)");
        assertThat(log.events()).allSatisfy(e -> assertThat(e.getLevel()).isEqualTo(Level.WARN));
    }

    @Test
    void theCountStartsAgainAfterItWasReported() {
        LogLimiter l = limiter(Duration.ofSeconds(1), 100);
        l.info("a", "x");
        l.info("a", "x");
        elapse(Duration.ofSeconds(1));
        l.info("a", "x");
        elapse(Duration.ofSeconds(1));
        l.info("a", "x");
        assertThat(log.lines()).containsExactly("x", "x (1 similar from a suppressed)", "x");
        assertThat(log.events()).allSatisfy(e -> assertThat(e.getLevel()).isEqualTo(Level.INFO));
    }

    @Test
    void aGlobalCapPerSecondHoldsAcrossSources() {
        LogLimiter l = limiter(Duration.ofMinutes(1), 3);
        int logged = 0;
        for (int i = 0; i < 10; i++) if (l.warn("10.0.0." + i, "bad input")) logged++;
        assertThat(logged).isEqualTo(3);

        elapse(Duration.ofMillis(999));
        assertThat(l.warn("10.0.1.1", "bad input")).as("still the same second").isFalse();
        elapse(Duration.ofMillis(1));
        assertThat(l.warn("10.0.1.2", "bad input")).isTrue();

        assertThat(log.lines()).hasSize(4);
        assertThat(log.lines().getLast()).isEqualTo("bad input (8 other messages suppressed)");
    }

    @Test
    void aLineLostToTheGlobalCapIsCountedOnceAndItsSourceKeepsItsOwnCount() {
        LogLimiter l = limiter(Duration.ofSeconds(10), 1);
        l.warn("b", "first from b");
        l.warn("b", "suppressed by b's interval");
        elapse(Duration.ofSeconds(10));
        l.warn("a", "takes the second's only line");
        assertThat(l.warn("b", "lost to the global cap")).isFalse();
        elapse(Duration.ofSeconds(10));
        assertThat(l.warn("b", "again")).isTrue();
        assertThat(log.lines().getLast())
                .isEqualTo("again (1 similar from b suppressed) (1 other messages suppressed)");
    }

    @Test
    void aNullSourceIsOneSource() {
        LogLimiter l = limiter(Duration.ofMinutes(1), 100);
        assertThat(l.warn(null, "x")).isTrue();
        assertThat(l.warn(null, "x")).isFalse();
    }

    @Test
    void disabledLevelsLogNothingAndCountNothing() {
        LogLimiter l = limiter(Duration.ofMinutes(1), 100);
        assertThat(l.debug("a", "detail")).isFalse();
        assertThat(l.info("a", "shown")).as("the debug line did not use up the source's allowance").isTrue();
        assertThat(log.lines()).containsExactly("shown");
    }

    @Test
    void manySourcesDoNotGrowTheTableWithoutBound() {
        LogLimiter l = limiter(Duration.ofMinutes(1), Integer.MAX_VALUE);
        for (int i = 0; i < 5 * LogLimiter.MAX_SOURCES; i++) {
            l.info("2001:db8::" + Integer.toHexString(i), "bad input");
            now.addAndGet(TimeUnit.MICROSECONDS.toNanos(1)); // all of them well within the interval
        }
        assertThat(l.trackedSources()).isLessThanOrEqualTo(LogLimiter.MAX_SOURCES);
    }

    @Test
    void sourcesOlderThanTheIntervalAreForgottenFirst() {
        LogLimiter l = limiter(Duration.ofSeconds(1), Integer.MAX_VALUE);
        for (int i = 0; i < LogLimiter.MAX_SOURCES - 1; i++) l.info("old-" + i, "x");
        l.info("recent", "x");
        elapse(Duration.ofMillis(1_500));
        l.info("recent", "y"); // logs again: its interval has passed
        elapse(Duration.ofMillis(100));
        l.info("newcomer", "x");

        assertThat(l.trackedSources()).as("the old ones went, the recent one and the newcomer stay").isEqualTo(2);
        assertThat(l.info("recent", "z")).as("still remembered").isFalse();
    }

    @Test
    void theFactoryLimiterLogsOncePerMinutePerSource() {
        LogLimiter l = LogLimiter.perMinute(log.logger);
        assertThat(l.warn("a", "x")).isTrue();
        assertThat(l.warn("a", "x")).isFalse();
    }
}
