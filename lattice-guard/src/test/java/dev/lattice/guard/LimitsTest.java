package dev.lattice.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** {@link Limits}: sensible defaults, and nonsense refused when it is built rather than discovered under load. */
class LimitsTest {
    @Test
    void theDefaultsFitRealClients() {
        Limits l = Limits.builder().build();
        assertThat(l.requestTimeout).as("Headscale's types.HTTPTimeout").isEqualTo(Duration.ofSeconds(30));
        assertThat(l.maxBody).as("Headscale's 1 MiB").isEqualTo(1 << 20);
        assertThat(l.maxAnonymousBody).isLessThanOrEqualTo(l.maxBody);
        assertThat(l.anonymousIdleTimeout).isLessThan(l.idleTimeout);
        assertThat(l.maxConnections).isGreaterThanOrEqualTo(64);
        long fds = Limits.fileDescriptorLimit();
        if (fds > 0) assertThat((long) l.maxConnections).as("room left under the descriptor limit").isLessThan(Math.max(65, fds));
        assertThat(l.bodyBytesTotal).isBetween(8L << 20, 256L << 20);
        assertThat(l.trustedProxy.test(InetAddress.ofLiteral("127.0.0.1"))).as("no proxy is trusted unless configured").isFalse();
    }

    @Test
    void theDescriptorLimitIsTheSoftLimitOfProcLimits() {
        String limits = """
                Limit                     Soft Limit           Hard Limit           Units    \s
                Max cpu time              unlimited            unlimited            seconds  \s
                Max open files            20000                524288               files    \s
                Max locked memory         8388608              8388608              bytes    \s
                """;
        assertThat(Limits.openFilesSoftLimit(limits)).isEqualTo(20000);
        assertThat(Limits.openFilesSoftLimit(limits.replace("20000 ", "unlimited"))).isEqualTo(Long.MAX_VALUE);
        assertThat(Limits.openFilesSoftLimit("Limit  Soft Limit\nMax cpu time  unlimited  unlimited  seconds\n")).isEqualTo(-1);
        assertThat(Limits.openFilesSoftLimit("Max open files            many                 many                 files\n"))
                .isEqualTo(-1);
    }

    @Test
    void onLinuxTheDescriptorLimitMatchesTheJvms() {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/self/limits")));
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(os instanceof com.sun.management.UnixOperatingSystemMXBean);
        assertThat(Limits.fileDescriptorLimit()).isEqualTo(((com.sun.management.UnixOperatingSystemMXBean) os).getMaxFileDescriptorCount());
    }

    @Test
    void toBuilderKeepsEverything() {
        Limits a = Limits.builder().maxConnections(7).maxAnonymousPerSource(3).requestTimeout(Duration.ofSeconds(5))
                .anonymousIdleTimeout(Duration.ofSeconds(6)).idleTimeout(Duration.ofSeconds(70)).maxAnonymousBody(10)
                .maxBody(20).bodyBytes(1, 2, 3).maxConcurrentStreams(4).build();
        Limits b = a.toBuilder().build();
        assertThat(b).usingRecursiveComparison().isEqualTo(a);
    }

    static Stream<Arguments> nonsense() {
        return Stream.of(
                Arguments.of("maxConnections", (Consumer<Limits.Builder>) b -> b.maxConnections(0)),
                Arguments.of("maxAnonymousPerSource", (Consumer<Limits.Builder>) b -> b.maxAnonymousPerSource(-1)),
                Arguments.of("requestTimeout", (Consumer<Limits.Builder>) b -> b.requestTimeout(Duration.ZERO)),
                Arguments.of("anonymousIdleTimeout", (Consumer<Limits.Builder>) b -> b.anonymousIdleTimeout(Duration.ofSeconds(-1))),
                Arguments.of("idleTimeout", (Consumer<Limits.Builder>) b -> b.idleTimeout(null)),
                Arguments.of("maxBody", (Consumer<Limits.Builder>) b -> b.maxBody(0)),
                Arguments.of("bodyBytesTotal", (Consumer<Limits.Builder>) b -> b.bodyBytes(1, 1, 0)),
                Arguments.of("maxConcurrentStreams", (Consumer<Limits.Builder>) b -> b.maxConcurrentStreams(0)),
                Arguments.of("maxAnonymousBody exceeds maxBody", (Consumer<Limits.Builder>) b -> b.maxAnonymousBody(2).maxBody(1).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nonsense")
    void nonsenseIsRefusedWithItsName(String name, Consumer<Limits.Builder> set) {
        assertThatThrownBy(() -> set.accept(Limits.builder())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(name);
    }
}
