package dev.lattice.testlab;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExecResultTest {

    @Test
    void describeShortensAClasspathSoTheOutputStaysInView() {
        String classpath = "/a/b.jar:".repeat(1_000);
        ExecResult r = new ExecResult(List.of("java", "-cp", classpath, "Main"), 1, "", "chromium crashed\n",
                Duration.ofMillis(5), false);

        String d = r.describe();

        assertThat(d).startsWith("`java -cp /a/b.jar:").contains("...(" + classpath.length() + " chars) Main` -> exit 1")
                .endsWith("--- stderr ---\nchromium crashed");
        assertThat(d.length()).isLessThan(200);
    }

    @Test
    void describeKeepsOrdinaryArgumentsWhole() {
        ExecResult r = new ExecResult(List.of("ip", "netns", "exec", "lt-x-h1", "ping", "-c", "1", "10.0.0.2"), -1, "", "",
                Duration.ofSeconds(3), true);

        assertThat(r.describe()).isEqualTo("`ip netns exec lt-x-h1 ping -c 1 10.0.0.2` -> timed out after 3000 ms (3000 ms)");
    }
}
