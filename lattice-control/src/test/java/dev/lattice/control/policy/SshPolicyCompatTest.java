package dev.lattice.control.policy;

import static dev.lattice.control.policy.PolicyCompilerTest.LAPTOP;
import static dev.lattice.control.policy.PolicyCompilerTest.SERVER;
import static dev.lattice.control.policy.PolicyCompilerTest.compile;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * The SSH section accepts and refuses what Tailscale's control does (its captured answers, see
 * {@link TailscaleCapturesTest}), and sends what it sends for the odd but accepted forms.
 */
class SshPolicyCompatTest {
    static final String RULE = "{\"action\":%s,\"src\":[\"group:eng\"],\"dst\":[\"tag:server\"],\"users\":[%s]%s}";

    static CompiledPolicy ssh(String action, String users, String extra) throws PolicyException {
        return compile("\"ssh\":[" + RULE.formatted(action, users, extra) + "]");
    }

    @Test
    void oddButAcceptedFormsAreSentAsTailscaleSendsThem() throws Exception {
        assertThat(ssh("\" accept\"", "\"root\"", "").sshPolicyFor(SERVER).get("rules").get(0).get("action").get("accept").asBoolean())
                .as("an action with spaces around it").isTrue();
        assertThat(ssh("\"accept\"", "\"autogroup:member\", \"localpart:foo@example.com\"", "").sshPolicyFor(SERVER)
                .get("rules").get(0).get("sshUsers").toString())
                .as("anything but autogroup:nonroot and localpart:*@domain is a local user name")
                .isEqualTo("{\"autogroup:member\":\"autogroup:member\",\"localpart:foo@example.com\":\"localpart:foo@example.com\",\"root\":\"\"}");
        assertThat(ssh("\"check\"", "\"root\"", ",\"checkPeriod\":null,\"acceptEnv\":null").sshCheckPeriod(LAPTOP, SERVER))
                .as("null is unset").isPresent();
        assertThat(compile("\"ssh\":[{\"action\":\"accept\",\"src\":[\"group:eng\"],\"users\":[\"root\"]}]").sshPolicyFor(SERVER)
                .get("rules")).as("no dst: a rule for nobody").isEmpty();
    }

    @Test
    void formsTailscaleRefusesAreRefused() {
        assertThatThrownBy(() -> ssh("\"accept\"", "\"*\"", "")).hasMessageContaining("user \"*\" is not valid");
        assertThatThrownBy(() -> compile("\"ssh\":[{\"action\":\"accept\",\"src\":[\"group:eng\"],\"dst\":[\"db\"],\"users\":[\"root\"]}]"))
                .hasMessageContaining("invalid dst \"db\"");
        assertThatThrownBy(() -> PolicyParser.parse("{\"tagOwners\":{\"tag:сервер\":[\"alice@\"]}}"))
                .hasMessageContaining("tag names must start with a letter");
    }
}
