package dev.lattice.control.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Headscale's --expiration values (Prometheus durations). */
class PromDurationTest {
    @ParameterizedTest
    @CsvSource({"90d, 7776000000", "1h, 3600000", "30m, 1800000", "1h30m, 5400000", "1y, 31536000000", "2w, 1209600000",
        "1s500ms, 1500", "0, 0", "0d, 0"})
    void parses(String text, long millis) {
        assertThat(PromDuration.parse(text)).isEqualTo(Duration.ofMillis(millis));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "1", "h", "1x", "1m1h", "-1h", "1.5h", " 1h", "1hh", "99999999999999999999y", "300y"})
    void refuses(String text) {
        assertThatThrownBy(() -> PromDuration.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void largestGoDurationFits() {
        assertThat(PromDuration.parse("290y")).isEqualTo(Duration.ofDays(290L * 365));
    }
}
