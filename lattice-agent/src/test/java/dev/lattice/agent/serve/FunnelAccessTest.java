package dev.lattice.agent.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.LinkedHashSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** tailscale's {@code CheckFunnelAccess} table: HTTPS, the funnel attribute, and the funnel-ports attribute. */
class FunnelAccessTest {
    @ParameterizedTest(name = "{0} port {1}")
    @CsvSource(delimiter = '|', nullValues = "OK", value = {
        "https funnel https://tailscale.com/cap/funnel-ports?ports=443,8443,10000 | 443   | OK",
        "https funnel https://tailscale.com/cap/funnel-ports?ports=443,8443,10000 | 10000 | OK",
        "https funnel https://tailscale.com/cap/funnel-ports?ports=443,8000-9000  | 8500  | OK",
        "https funnel https://tailscale.com/cap/funnel-ports?ports=443,8443,10000 | 80    | port 80 is not allowed for funnel; allowed ports are: 443,8443,10000",
        "https funnel https://tailscale.com/cap/funnel-ports?ports=x-y,443        | 444   | port 444 is not allowed for funnel; allowed ports are: x-y,443",
        "https funnel https://tailscale.com/cap/funnel-ports?other=1              | 443   | port 443 is not allowed for funnel",
        "https funnel https://tailscale.com/cap/funnel-portsx?ports=443           | 443   | port 443 is not allowed for funnel",
        "https funnel                                                             | 443   | port 443 is not allowed for funnel",
        "https                                                                    | 443   | Funnel not available; \"funnel\" node attribute not set. See https://tailscale.com/s/no-funnel.",
        "funnel https://tailscale.com/cap/funnel-ports?ports=443                  | 443   | Funnel not available; HTTPS must be enabled. See https://tailscale.com/s/https.",
    })
    void check(String caps, int port, String want) {
        assertThat(FunnelAccess.check(port, new LinkedHashSet<>(Arrays.asList(caps.trim().split("\\s+"))))).isEqualTo(want);
    }
}
