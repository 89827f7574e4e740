package dev.lattice.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** When the JIT's compilers count as quiet, and where their time comes from. */
class CompilerActivityTest {
    static final long MS = 1_000_000;

    final AtomicLong ticks = new AtomicLong();
    final CompilerActivity compilers = new CompilerActivity(ticks::get, 300 * MS, 0.1);

    @Test
    void aWindowInWhichTheCompilersUsedLittleIsQuiet() {
        assertThat(compilers.quiet(0)).as("the first call only opens a window").isFalse();
        ticks.addAndGet(2); // 20 ms of 300 (a tick is 10 ms)
        assertThat(compilers.quiet(300 * MS)).isTrue();
    }

    @Test
    void aBusyWindowIsNotAndOpensTheNext() {
        compilers.quiet(0);
        ticks.addAndGet(31); // 310 ms of CPU in 300 ms (two compiler threads)
        assertThat(compilers.quiet(300 * MS)).isFalse();
        ticks.addAndGet(3); // 30 ms: exactly the 10% allowed
        assertThat(compilers.quiet(600 * MS)).isTrue();
    }

    @Test
    void nothingIsDecidedBeforeAWholeWindowHasPassed() {
        compilers.quiet(0);
        assertThat(compilers.quiet(299 * MS)).isFalse();
        assertThat(compilers.quiet(300 * MS)).as("the window still began at 0").isTrue();
    }

    @Test
    void cpuTimeIsUserPlusSystemCountedAfterTheCommandName() {
        // A command with spaces and a parenthesis of its own; utime 1234 and stime 56 are fields 14 and 15.
        String stat = "4242 (C2 Compiler) x) S 1 4242 4242 0 -1 4194368 0 0 0 0 1234 56 0 0 20 0 36 0 100 0 0";
        assertThat(CompilerActivity.cpuTicks(stat)).isEqualTo(1290);
        assertThat(CompilerActivity.cpuTicks("garbage")).isEqualTo(-1);
        assertThat(CompilerActivity.cpuTicks("1 (a) S 1 2")).isEqualTo(-1);
    }

    @Test
    void thisJvmsCompilerThreadsAreFoundOnLinux() {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(java.nio.file.Path.of("/proc/self/task")));
        assertThat(CompilerActivity.ticks()).isGreaterThanOrEqualTo(0);
    }
}
