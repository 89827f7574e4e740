package dev.lattice.agent.localapi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What the CLI route writes to the debug log of a command: its name, never one of its values. */
class CliRouteTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--socket=/run/x.sock,up,--authkey=tskey-auth-secret | up",
        "status,--json | status",
        "--socket,/run/x.sock,ip | ?",
        "--socket=/run/x.sock,tskey-auth-secret | ?",
        "--socket=/x | ?"})
    void theLoggedNameIsTheCommandOnly(String args, String name) {
        assertThat(CliRoute.commandName(List.of(args.split(",")))).isEqualTo(name);
    }
}
