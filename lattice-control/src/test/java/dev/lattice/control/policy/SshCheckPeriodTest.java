package dev.lattice.control.policy;

import static dev.lattice.control.policy.PolicyCompilerTest.BOB;
import static dev.lattice.control.policy.PolicyCompilerTest.LAPTOP;
import static dev.lattice.control.policy.PolicyCompilerTest.PHONE;
import static dev.lattice.control.policy.PolicyCompilerTest.SERVER;
import static dev.lattice.control.policy.PolicyCompilerTest.compile;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Headscale's SSHCheckParams: which check rule covers a (source, destination) pair, and its period. */
class SshCheckPeriodTest {

    @Test
    void theFirstCheckRuleCoveringThePairGivesThePeriodTwelveHoursWhenUnset() throws Exception {
        CompiledPolicy p = compile("\"ssh\":["
                + "{\"action\":\"accept\",\"src\":[\"bob@\"],\"dst\":[\"tag:server\"],\"users\":[\"root\"]},"
                + "{\"action\":\"check\",\"src\":[\"group:eng\"],\"dst\":[\"tag:server\"],\"users\":[\"root\"],\"checkPeriod\":\"2h30m\"},"
                + "{\"action\":\"check\",\"src\":[\"autogroup:member\"],\"dst\":[\"tag:server\"],\"users\":[\"root\"],\"checkPeriod\":\"always\"},"
                + "{\"action\":\"check\",\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self\"],\"users\":[\"root\"]}]");

        assertThat(p.sshCheckPeriod(LAPTOP, SERVER)).as("alice (group:eng): the first check rule").contains(Duration.ofMinutes(150));
        assertThat(p.sshCheckPeriod(BOB, SERVER)).as("bob: accept rules do not count, the next check rule does").contains(Duration.ZERO);
        assertThat(p.sshCheckPeriod(LAPTOP, PHONE)).as("autogroup:self, one user").contains(Duration.ofHours(12));
        assertThat(p.sshCheckPeriod(BOB, PHONE)).as("autogroup:self, another user's device").isEmpty();
        assertThat(p.sshCheckPeriod(SERVER, LAPTOP)).as("a tagged source is nobody's self").isEmpty();
    }

    @Test
    void noCheckRuleNoPolicyNoPeriod() throws Exception {
        assertThat(compile("\"ssh\":[{\"action\":\"accept\",\"src\":[\"group:eng\"],\"dst\":[\"tag:server\"],\"users\":[\"root\"]}]")
                .sshCheckPeriod(LAPTOP, SERVER)).isEmpty();
        assertThat(compile("").sshCheckPeriod(LAPTOP, SERVER)).isEmpty();
    }

    @Test
    void aPeriodAboveAWeekIsRefusedAsHeadscaleRefusesIt() {
        assertThatThrownBy(() -> compile("\"ssh\":[{\"action\":\"check\",\"src\":[\"group:eng\"],\"dst\":[\"tag:server\"],"
                + "\"users\":[\"root\"],\"checkPeriod\":\"169h\"}]"))
                .isInstanceOf(PolicyException.class).hasMessageContaining("checkPeriod 169h is above the max (168h)");
    }
}
