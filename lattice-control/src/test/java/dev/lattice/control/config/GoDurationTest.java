package dev.lattice.control.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Go's duration syntax, parsed and printed the way time.ParseDuration and Duration.String do. */
class GoDurationTest {
    @ParameterizedTest
    @CsvSource({"0,0", "0s,0", "30m,1800000000000", "1h30m,5400000000000", "1.5s,1500000000", "500ms,500000000",
            "3h,10800000000000", "10us,10000", "1µs,1000", ".5m,30000000000", "1h0m0s,3600000000000", "-2s,-2000000000"})
    void parsesGoSyntax(String text, long nanos) {
        assertThat(GoDuration.parse(text)).isEqualTo(Duration.ofNanos(nanos));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "30x", "30", "1d", "h", "1.2.3s", "--1s", "1h30", "99999999999h", "s1"})
    void rejectsAnythingElse(String text) {
        assertThatThrownBy(() -> GoDuration.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad duration");
    }

    @ParameterizedTest
    @CsvSource({"0,0s", "1500000000,1.5s", "5400000000000,1h30m0s", "500000000,500ms", "60000000000,1m0s"})
    void formatsLikeGo(long nanos, String text) {
        assertThat(GoDuration.format(Duration.ofNanos(nanos))).isEqualTo(text);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4})
    void formatAndParseRoundTrip(long seed) {
        Random r = new Random(seed);
        for (int i = 0; i < 2000; i++) {
            Duration d = Duration.ofNanos(r.nextLong(0, 1L << 62) >> r.nextInt(60));
            assertThat(GoDuration.parse(GoDuration.format(d))).isEqualTo(d);
        }
    }

    @ParameterizedTest
    @CsvSource({"180d,15552000", "2w,1209600", "1y,31536000"})
    void nodeExpiryAlsoTakesDaysWeeksYears(String text, long seconds) {
        assertThat(GoDuration.parseWithDays(text)).isEqualTo(Duration.ofSeconds(seconds));
    }
}
