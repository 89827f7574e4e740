package dev.lattice.agent.ipn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.agent.state.Prefs;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code --advertise-routes}/{@code --advertise-exit-node} to the prefs, with tailscale's checks and messages. */
class AdvertiseRoutesTest {
    static final List<String> EXIT = List.of("0.0.0.0/0", "::/0");

    static Stream<Arguments> refused() {
        return Stream.of(
                // tailscale's cli_test.go cases
                Arguments.of("foo", "\"foo\" is not a valid IP address or CIDR prefix"),
                Arguments.of("1.2.3.4/16", "1.2.3.4/16 has non-address bits set; expected 1.2.0.0/16"),
                // the example, and IPv6
                Arguments.of("10.1.0.1/24", "10.1.0.1/24 has non-address bits set; expected 10.1.0.0/24"),
                Arguments.of("2001:db8::1/64", "2001:db8::1/64 has non-address bits set; expected 2001:db8::/64"),
                // a bare address is no prefix (netip.ParsePrefix)
                Arguments.of("10.1.0.1", "\"10.1.0.1\" is not a valid IP address or CIDR prefix"),
                Arguments.of("10.1.0.0/33", "\"10.1.0.0/33\" is not a valid IP address or CIDR prefix"),
                Arguments.of("10.0.0.0/8,", "\"\" is not a valid IP address or CIDR prefix"),
                // the exit routes come as a pair (netutil.CalcAdvertiseRoutes)
                Arguments.of("0.0.0.0/0", "0.0.0.0/0 advertised without its IPv6 counterpart, please also advertise ::/0"),
                Arguments.of("::/0,10.0.0.0/8", "::/0 advertised without its IPv4 counterpart, please also advertise 0.0.0.0/0"),
                // the tailnet's own ranges, inside or around them
                Arguments.of("100.64.0.0/16", "100.64.0.0/16 overlaps the tailnet's address range 100.64.0.0/10"),
                Arguments.of("100.0.0.0/8", "100.0.0.0/8 overlaps the tailnet's address range 100.64.0.0/10"),
                Arguments.of("fd00::/8", "fd00::/8 overlaps the tailnet's address range fd7a:115c:a1e0::/48"),
                Arguments.of("100.100.100.100/32", "100.100.100.100/32 overlaps the tailnet's address range 100.64.0.0/10"),
                Arguments.of("fd7a:115c:a1e0:ab12::/64", "fd7a:115c:a1e0:ab12::/64 overlaps the tailnet's address range fd7a:115c:a1e0::/48"),
                Arguments.of("fd7a:115c:a1e0:b1a:0:7::/96", "is a 4via6 route; latticed does not support 4via6 subnet routers"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refused")
    void refusedWithTailscalesMessage(String routes, String message) {
        assertThatThrownBy(() -> AdvertiseRoutes.calc(routes, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }

    @Test
    void routesAreSortedByLengthThenAddressWithoutDuplicates() {
        assertThat(AdvertiseRoutes.calc("192.168.0.0/16,10.0.0.0/24,10.0.0.0/24,2001:db8::/32,100.128.0.0/9", true))
                .containsExactly("0.0.0.0/0", "::/0", "100.128.0.0/9", "192.168.0.0/16", "10.0.0.0/24", "2001:db8::/32");
        assertThat(AdvertiseRoutes.calc("", true)).isEqualTo(EXIT);
        assertThat(AdvertiseRoutes.calc("::/0,0.0.0.0/0", false)).isEqualTo(EXIT);
        assertThat(AdvertiseRoutes.calc("", false)).isEmpty();
        assertThat(AdvertiseRoutes.calc(null, false)).isEmpty();
        // Next to the tailnet range is fine.
        assertThat(AdvertiseRoutes.calc("100.128.0.0/10,100.63.0.0/16", false)).hasSize(2);
    }

    static Stream<Arguments> forSet() {
        List<String> none = List.of();
        return Stream.of(
                // tailscale's set_test.go TestCalcAdvertiseRoutesForSet, case by case: name, set exit, set routes, was, want
                Arguments.of("empty", null, null, none, none),
                Arguments.of("advertise-exit", true, null, none, EXIT),
                Arguments.of("advertise-exit/already-routes", true, null, List.of("34.0.0.0/16"), List.of("34.0.0.0/16", "0.0.0.0/0", "::/0")),
                Arguments.of("advertise-exit/already-exit", true, null, EXIT, EXIT),
                Arguments.of("stop-advertise-exit", false, null, EXIT, none),
                Arguments.of("stop-advertise-exit/with-routes", false, null, List.of("34.0.0.0/16", "0.0.0.0/0", "::/0"), List.of("34.0.0.0/16")),
                Arguments.of("advertise-routes", null, "10.0.0.0/24,192.168.0.0/16", none, List.of("10.0.0.0/24", "192.168.0.0/16")),
                Arguments.of("advertise-routes/already-exit", null, "10.0.0.0/24,192.168.0.0/16", EXIT,
                        List.of("10.0.0.0/24", "192.168.0.0/16", "0.0.0.0/0", "::/0")),
                Arguments.of("advertise-routes/already-diff-routes", null, "10.0.0.0/24,192.168.0.0/16", List.of("34.0.0.0/16"),
                        List.of("10.0.0.0/24", "192.168.0.0/16")),
                Arguments.of("stop-advertise-routes", null, "", List.of("34.0.0.0/16"), none),
                Arguments.of("stop-advertise-routes/already-exit", null, "", List.of("34.0.0.0/16", "0.0.0.0/0", "::/0"), EXIT),
                Arguments.of("advertise-routes-and-exit", true, "10.0.0.0/24,192.168.0.0/16", none,
                        List.of("10.0.0.0/24", "192.168.0.0/16", "0.0.0.0/0", "::/0")),
                Arguments.of("advertise-routes-and-exit/already-exit", true, "10.0.0.0/24,192.168.0.0/16", EXIT,
                        List.of("10.0.0.0/24", "192.168.0.0/16", "0.0.0.0/0", "::/0")),
                Arguments.of("advertise-routes-and-exit/already-routes", true, "10.0.0.0/24,192.168.0.0/16",
                        List.of("10.0.0.0/24", "192.168.0.0/16"), List.of("10.0.0.0/24", "192.168.0.0/16", "0.0.0.0/0", "::/0")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("forSet")
    void setChangesOnlyWhatItsFlagsName(String name, Boolean exit, String routes, List<String> was, List<String> want) {
        Prefs cur = Prefs.defaults().withAdvertiseRoutes(was);
        List<String> got = AdvertiseRoutes.forSet(exit != null, routes != null, cur, routes, Boolean.TRUE.equals(exit));
        assertThat(got).containsExactlyInAnyOrderElementsOf(want);
    }

    @Test
    void theBackendCheckNamesTheRoute() {
        assertThatThrownBy(() -> AdvertiseRoutes.check(List.of("10.0.0.0/8", "10.1.0.1/24")))
                .hasMessage("route 10.1.0.1/24 has non-address bits set; expected 10.1.0.0/24");
        assertThat(AdvertiseRoutes.check(List.of("10.0.0.0/8", "::/0", "0.0.0.0/0"))).containsExactly("10.0.0.0/8", "::/0", "0.0.0.0/0");
    }
}
