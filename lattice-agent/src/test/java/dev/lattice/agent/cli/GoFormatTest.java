package dev.lattice.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Go's Duration text and tabwriter layout, as the CLI output depends on them. */
class GoFormatTest {
    @ParameterizedTest
    @CsvSource({
        "0, 0s", "1, 1ns", "1500, 1.5µs", "12000000, 12ms", "1234000, 1.234ms", "12300000, 12.3ms",
        "1000000000, 1s", "1500000000, 1.5s", "60000000000, 1m0s", "90000000000, 1m30s",
        "3600000000000, 1h0m0s", "3723500000000, 1h2m3.5s", "-5000000, -5ms"})
    void formatsLikeGo(long nanos, String text) {
        assertThat(GoDuration.format(Duration.ofNanos(nanos))).isEqualTo(text);
    }

    @ParameterizedTest
    @CsvSource({"5s, 5000000000", "300ms, 300000000", "1.5h, 5400000000000", "2h45m, 9900000000000", "0, 0",
        "1us, 1000", "-1m, -60000000000", ".5s, 500000000"})
    void parsesLikeGo(String text, long nanos) {
        assertThat(GoDuration.parse(text)).isEqualTo(Duration.ofNanos(nanos));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"''", "5", "s", "1.2.3s", "5x", "-", "99999999999h"})
    void rejectsWhatGoRejects(String text) {
        assertThatThrownBy(() -> GoDuration.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }

    /** Whole numbers take long arithmetic, fractions BigDecimal: both must read a value alike, to the last nanosecond. */
    @ParameterizedTest
    @MethodSource("seeds")
    void aWholeNumberReadsAsTheSameFractionWould(long nanos) {
        assertThat(GoDuration.parse(nanos + "ns")).isEqualTo(GoDuration.parse(nanos + ".0ns")).isEqualTo(Duration.ofNanos(nanos));
        long s = nanos / 1_000_000_000L;
        assertThat(GoDuration.parse("-" + s + "s" + (nanos % 1000) + "ns"))
                .isEqualTo(GoDuration.parse("-" + s + ".0s" + (nanos % 1000) + "ns"));
    }

    @ParameterizedTest
    @CsvSource({"9223372036854775807ns, 9223372036854775807", "2562047h, 9223369200000000000",
        "-9223372036854775807ns, -9223372036854775807", "+3m, 180000000000"})
    void wholeNumbersUpToGosLimit(String text, long nanos) {
        assertThat(GoDuration.parse(text)).isEqualTo(Duration.ofNanos(nanos));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"9223372036854775808ns", "2562048h", "2562047h1h", "99999999999999999999s", "5s3",
        "s5", "5sms", "9223372036854775807.1ns"})
    void wholeNumbersBeyondGosLimitOrMalformedAreRefused(String text) {
        assertThatThrownBy(() -> GoDuration.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }

    static Stream<Long> seeds() {
        Random r = new Random(42);
        return IntStream.range(0, 200).mapToObj(i -> r.nextLong(0, 400_000_000_000_000L) >> r.nextInt(40));
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void formatThenParseIsTheIdentity(long nanos) {
        Duration d = Duration.ofNanos(nanos);
        assertThat(GoDuration.parse(GoDuration.format(d))).isEqualTo(d);
    }

    @Test
    void roundsHalfAwayFromZero() {
        assertThat(GoDuration.round(Duration.ofNanos(1_500_000), Duration.ofMillis(1))).isEqualTo(Duration.ofMillis(2));
        assertThat(GoDuration.round(Duration.ofNanos(1_499_999), Duration.ofMillis(1))).isEqualTo(Duration.ofMillis(1));
        assertThat(GoDuration.round(Duration.ofNanos(-1_500_000), Duration.ofMillis(1))).isEqualTo(Duration.ofMillis(-2));
    }

    @Test
    void tabwriterPadsEachColumnBlockToItsWidestCell() {
        // Cells end in tabs; the text after the last tab is not part of a column; a line without the
        // column ends the block, so the two blocks below are aligned separately.
        String in = "a\tbbb\tx\nccc\td\t\nheader\n  Name:\tlonger value\n";
        assertThat(new TabWriter(0, 2).format(in))
                .isEqualTo("a    bbb  x\nccc  d    \nheader\n  Name:  longer value\n");
        assertThat(new TabWriter(10, 5).format("  ID:\t7\n")).isEqualTo("  ID:     7\n");
        assertThat(new TabWriter(0, 2).format("é\tx\n")).isEqualTo("é  x\n"); // runes, not bytes
    }
}
