package dev.lattice.control.policy;

import static dev.lattice.control.policy.PolicyCompilerTest.compile;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * The policy's {@code sshTests} (Headscale v0.29.2, Tailscale): each entry is checked against the SSH policy every
 * destination is sent, and a failing one rejects the policy with the pair that failed. Tailscale's own answers for 37
 * captured policies are compared in {@link TailscaleCapturesTest}.
 */
class SshTestsTest {
    /** group:eng (alice) may log in as root on tag:server; bob may check in as ubuntu; alice's own devices as anyone. */
    static final String SSH = "\"ssh\":["
            + "{\"action\":\"accept\",\"src\":[\"group:eng\"],\"dst\":[\"tag:server\"],\"users\":[\"root\"]},"
            + "{\"action\":\"check\",\"src\":[\"bob@\"],\"dst\":[\"tag:server\"],\"users\":[\"ubuntu\"]},"
            + "{\"action\":\"accept\",\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self\"],\"users\":[\"autogroup:nonroot\"]}],";

    @Test
    void passingTestsLoad() {
        assertThatCode(() -> compile(SSH + "\"sshTests\":["
                + "{\"src\":\"alice@\",\"dst\":[\"tag:server\"],\"accept\":[\"root\"],\"deny\":[\"ubuntu\"]},"
                + "{\"src\":\"bob@\",\"dst\":[\"tag:server\"],\"check\":[\"ubuntu\"],\"deny\":[\"root\"]},"
                + "{\"src\":\"alice@\",\"dst\":[\"autogroup:self\"],\"accept\":[\"ubuntu\"],\"deny\":[\"root\"]}]"))
                .doesNotThrowAnyException();
    }

    @Test
    void aFailingTestRejectsThePolicyNamingThePair() {
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"src\":\"alice@\",\"dst\":[\"tag:server\"],\"accept\":[\"ubuntu\"]}]"))
                .isInstanceOf(PolicyException.class).hasMessageContaining("alice@/ubuntu -> ").hasMessageContaining("expected ALLOWED, got DENIED");
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"src\":\"bob@\",\"dst\":[\"tag:server\"],\"deny\":[\"ubuntu\"]}]"))
                .hasMessageContaining("expected DENIED, got ALLOWED");
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"src\":\"alice@\",\"dst\":[\"tag:server\"],\"check\":[\"root\"]}]"))
                .hasMessageContaining("expected ALLOWED via check, got ALLOWED via accept");
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"src\":\"bob@\",\"dst\":[\"autogroup:self\"],\"accept\":[\"root\"]}]"))
                .as("autogroup:self is the source's own devices, and root is not a non-root user")
                .hasMessageContaining("expected ALLOWED, got DENIED");
    }

    @Test
    void entriesThatCannotBeEvaluatedAreRefused() {
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"dst\":[\"tag:server\"],\"accept\":[\"root\"]}]"))
                .hasMessageContaining("must have a non-empty src");
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"src\":\"alice@\",\"accept\":[\"root\"]}]"))
                .hasMessageContaining("must have at least one dst");
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"src\":\"alice@\",\"dst\":[\"tag:nope\"],\"accept\":[\"root\"]}]"))
                .hasMessageContaining("SSH tests dst contains unknown tag \"tag:nope\"");
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"src\":\"alice@\",\"dst\":[\"tag:server:22\"],\"accept\":[\"root\"]}]"))
                .hasMessageContaining("unknown tag \"tag:server:22\"");
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"src\":\"alice@\",\"dst\":[\"100.64.0.0/24\"],\"accept\":[\"root\"]}]"))
                .hasMessageContaining("disallowed element \"100.64.0.0/24\"");
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"src\":\"alice@\",\"dst\":[\"autogroup:internet\"],\"accept\":[\"root\"]}]"))
                .hasMessageContaining("disallowed element \"autogroup:internet\"");
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"src\":\"alice@\",\"dst\":[\"tag:server\"]}]"))
                .hasMessageContaining("no accept, deny, or check assertions specified");
        assertThatThrownBy(() -> compile(SSH + "\"sshTests\":[{\"src\":\"nobody@\",\"dst\":[\"tag:server\"],\"accept\":[\"root\"]}]"))
                .hasMessageContaining("resolved to no IP addresses");
    }
}
