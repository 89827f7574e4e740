package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Container mode: the environment becomes a `lattice up`, and the auth key never reaches the log. */
class ContainerLoginTest {
    static final Path SOCK = Path.of("/run/l.sock");

    @Test
    void withoutAnyOfTheVariablesThereIsNoLogin() {
        assertThat(ContainerLogin.fromEnv(Map.of("PATH", "/bin", "LATTICE_AUTHKEY", "  "))).isNull();
    }

    @Test
    void theVariablesBecomeUpFlagsInTailscalesOrderWithTheExtraArgsLast() {
        ContainerLogin l = ContainerLogin.fromEnv(Map.of(
                "LATTICE_AUTHKEY", "lattice-auth-abc-secret",
                "LATTICE_ROUTES", "10.1.0.0/24,10.2.0.0/24",
                "LATTICE_HOSTNAME", "router",
                "LATTICE_EXTRA_ARGS", "  --login-server=https://c.example   --accept-dns=false "));
        assertThat(l.cliArgs(SOCK)).containsExactly("--socket=/run/l.sock", "up", "--authkey=lattice-auth-abc-secret",
                "--hostname=router", "--advertise-routes=10.1.0.0/24,10.2.0.0/24", "--login-server=https://c.example",
                "--accept-dns=false");
        assertThat(l.describe(SOCK)).doesNotContain("secret").contains("--authkey=<authkey>");
        assertThat(l.toString()).doesNotContain("secret");
    }

    @Test
    void aRestartWithoutAKeyStillAppliesTheRoutes() {
        ContainerLogin l = ContainerLogin.fromEnv(Map.of("LATTICE_ROUTES", "10.1.0.0/24"));
        assertThat(l.cliArgs(SOCK)).isEqualTo(List.of("--socket=/run/l.sock", "up", "--advertise-routes=10.1.0.0/24"));
    }

    @Test
    void userspaceNetworkingIsAskedForOnlyByTrueOrOne() {
        assertThat(ContainerLogin.wantsUserspace(Map.of("LATTICE_USERSPACE", "true"))).isTrue();
        assertThat(ContainerLogin.wantsUserspace(Map.of("LATTICE_USERSPACE", "1"))).isTrue();
        assertThat(ContainerLogin.wantsUserspace(Map.of("LATTICE_USERSPACE", "false"))).isFalse();
        assertThat(ContainerLogin.wantsUserspace(Map.of())).isFalse();
    }
}
