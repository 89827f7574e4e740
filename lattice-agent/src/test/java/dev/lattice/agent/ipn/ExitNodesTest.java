package dev.lattice.agent.ipn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code --exit-node=<ip|name>} resolved and refused as tailscale's exitNodeIPOfArg does. */
class ExitNodesTest {
    static PeerStatus peer(String dns, String ip, boolean offers) {
        return new PeerStatus("id-" + ip, "nodekey:" + ip, dns.split("\\.")[0], dns, "linux", 1, List.of(ip), List.of(ip + "/32"),
                List.of(), null, List.of(), "", "", 0, 0, null, null, null, true, false, offers, false, null, false);
    }

    static Status status(BackendState state, PeerStatus... peers) {
        Map<String, PeerStatus> m = new TreeMap<>();
        for (PeerStatus p : peers) m.put(p.publicKey(), p);
        return new Status("t", state, null, List.of("100.64.0.1", "fd7a:115c:a1e0::1"), null, List.of(), "tail.example.",
                null, null, m, Map.of());
    }

    static final Status RUNNING = status(BackendState.Running, peer("exit.tail.example.", "100.64.0.5", true),
            peer("plain.tail.example.", "100.64.0.6", false), peer("twin.tail.example.", "100.64.0.7", true),
            peer("twin.tail.example.", "100.64.0.8", true));

    static Stream<Arguments> cases() {
        return Stream.of(
                // arg, status, the address it resolves to, or the error
                Arguments.of("100.64.0.5", RUNNING, "100.64.0.5"),
                Arguments.of("exit", RUNNING, "100.64.0.5"),
                Arguments.of("EXIT", RUNNING, "100.64.0.5"),
                Arguments.of("exit.tail.example", RUNNING, "100.64.0.5"),
                Arguments.of("exit.tail.example.", RUNNING, "100.64.0.5"),
                Arguments.of("100.64.0.6", RUNNING, "!node 100.64.0.6 is not advertising an exit node"),
                Arguments.of("plain", RUNNING, "!node \"plain\" is not advertising an exit node"),
                Arguments.of("100.64.9.9", RUNNING, "!no node found in netmap with IP 100.64.9.9"),
                Arguments.of("nobody", RUNNING, "!invalid value \"nobody\" for --exit-node; must be IP or peer hostname"),
                Arguments.of("twin", RUNNING, "!ambiguous exit node name \"twin\""),
                Arguments.of("100.64.0.1", RUNNING, "!cannot use 100.64.0.1 as an exit node as it is a local IP address to this"
                        + " machine; did you mean --advertise-exit-node?"),
                // Before the netmap: an address is taken as is (it is checked again when the netmap comes), a name cannot be.
                Arguments.of("100.64.9.9", status(BackendState.Starting), "100.64.9.9"),
                Arguments.of("exit", status(BackendState.Starting), "!cannot resolve exit node by hostname while Lattice is"
                        + " starting up; please use its Lattice IP address instead"));
    }

    @ParameterizedTest(name = "{0} -> {2}")
    @MethodSource("cases")
    void resolvesOrRefusesWithTailscalesMessage(String arg, Status st, String want) {
        if (want.startsWith("!")) {
            assertThatThrownBy(() -> ExitNodes.ipOfArg(arg, st)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(want.substring(1));
        } else {
            assertThat(ExitNodes.ipOfArg(arg, st)).isEqualTo(want);
        }
    }
}
