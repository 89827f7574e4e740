package dev.lattice.agent.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The warnings tailscale's health tracker would show, in its order and with its timing. */
class HealthTest {
    /** A clock the test moves. */
    static final class TestClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneId.of("UTC");
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    final TestClock clock = new TestClock();
    final Health health = new Health(clock);

    @Test
    void stoppedHidesEverythingElse() {
        health.loginResult("fetch control key: connect: connection refused");
        assertThat(health.warnings()).containsExactly("Lattice is stopped.");
    }

    @Test
    void aFailedLoginIsShownAtOnceWithItsErrorAndClearedBySuccess() {
        health.setWantRunning(true);
        health.loginResult("fetch control key: GET http://ctl/key?v=130: connect: connection refused");
        // As tailscaled just after a restart with its control server down: both lines.
        assertThat(health.warnings()).containsExactly(
                "You are logged out. The last login error was: fetch control key: GET http://ctl/key?v=130: connect: connection refused",
                "Lattice is starting. Please wait.");
        clock.advance(Health.WARMING_UP);
        assertThat(health.warnings()).containsExactly(
                "You are logged out. The last login error was: fetch control key: GET http://ctl/key?v=130: connect: connection refused");
        health.loginResult("");
        assertThat(health.warnings()).containsExactly("You are logged out.");
        health.loginResult(null);
        health.mapPoll(true);
        assertThat(health.warnings()).isEmpty();
        assertThat(health.inMapPoll()).isTrue();
    }

    /** A lost map poll is a reconnect for 10 s, then an outage that shows once it has lasted 8 minutes. */
    @Test
    void outOfSyncShowsEightMinutesAfterThePollWasLost() {
        health.setWantRunning(true);
        health.mapPoll(true);
        clock.advance(Duration.ofHours(1));
        health.mapPoll(false);
        assertThat(health.inMapPoll()).isFalse();
        for (Duration d : List.of(Duration.ofSeconds(5), Duration.ofMinutes(8), Duration.ofMinutes(8).plusSeconds(9))) {
            Instant lost = clock.now;
            clock.now = lost.plus(d);
            assertThat(health.warnings()).as("%s after the poll ended", d).isEmpty();
            clock.now = lost;
        }
        clock.advance(Duration.ofMinutes(8).plusSeconds(10));
        assertThat(health.warnings()).containsExactly(Health.OUT_OF_SYNC);
        health.mapPoll(true);
        assertThat(health.warnings()).as("back in sync").isEmpty();
    }

    @Test
    void neverPolledCountsFromWhenWeWantedToBeUp() {
        clock.advance(Duration.ofHours(1)); // stopped meanwhile: does not count
        health.setWantRunning(true);
        clock.advance(Duration.ofMinutes(7));
        assertThat(health.warnings()).isEmpty();
        clock.advance(Duration.ofMinutes(1));
        assertThat(health.warnings()).containsExactly(Health.OUT_OF_SYNC);
        health.setWantRunning(false);
        assertThat(health.warnings()).containsExactly(Health.STOPPED);
        health.setWantRunning(true);
        assertThat(health.warnings()).as("up again: the clock restarts").containsExactly(Health.STARTING);
    }

    @Test
    void startingIsShownForFiveSecondsAfterUpOrUntilRunning() {
        health.setWantRunning(true);
        assertThat(health.warnings()).containsExactly(Health.STARTING);
        clock.advance(Duration.ofSeconds(4));
        assertThat(health.warnings()).containsExactly(Health.STARTING);
        health.running();
        assertThat(health.warnings()).isEmpty();
        health.setWantRunning(false);
        health.setWantRunning(true);
        assertThat(health.warnings()).as("down and up again").containsExactly(Health.STARTING);
        clock.advance(Health.WARMING_UP);
        assertThat(health.warnings()).isEmpty();
    }
}
