package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * latticed parses an ordinary start's options itself ({@link Latticed#quickParse}) and leaves everything else to
 * picocli: every command line it accepts means what picocli makes of it, and what it does not know goes to picocli.
 */
class LatticedArgsTest {
    static Stream<Arguments> accepted() {
        return Stream.of(
                Arguments.of((Object) new String[] {}),
                Arguments.of((Object) new String[] {"--statedir=/tmp/s", "--socket=/tmp/s/sock", "--tun=lattice0", "--port=41641"}),
                Arguments.of((Object) new String[] {"--statedir", "/tmp/s", "--socket", "/tmp/sock", "--tun", "ts1", "--port", "0"}),
                Arguments.of((Object) new String[] {"--state=/tmp/x.state", "--verbose=2", "--no-logs-no-support"}),
                Arguments.of((Object) new String[] {"--funnel-listen=:443", "--funnel-listen", "127.0.0.1:8443", "--port=9"}),
                Arguments.of((Object) new String[] {"--tun=bad/name", "--port=70000"})); // parsed alike; call() refuses them
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void anAcceptedCommandLineMeansWhatPicocliMakesOfIt(String[] args) {
        Latticed quick = Latticed.quickParse(System.getenv(), args);
        Latticed picocli = new Latticed();
        new CommandLine(picocli).parseArgs(args);
        assertThat(quick).isNotNull();
        assertThat(quick).usingRecursiveComparison().isEqualTo(picocli);
    }

    static Stream<Arguments> leftToPicocli() {
        return Stream.of(
                Arguments.of((Object) new String[] {"--help"}),
                Arguments.of((Object) new String[] {"--version"}),
                Arguments.of((Object) new String[] {"-h"}),
                Arguments.of((Object) new String[] {"--port"}),
                Arguments.of((Object) new String[] {"--port=x"}),
                Arguments.of((Object) new String[] {"--port=1", "--port=2"}),
                Arguments.of((Object) new String[] {"--tun="}),
                Arguments.of((Object) new String[] {"--tun", "--port=1"}),
                Arguments.of((Object) new String[] {"--no-logs-no-support=true"}),
                Arguments.of((Object) new String[] {"--unknown=1"}),
                Arguments.of((Object) new String[] {"extra"}),
                Arguments.of((Object) new String[] {"@args.txt"}));
    }

    @ParameterizedTest
    @MethodSource("leftToPicocli")
    void anythingElseIsLeftToPicocli(String[] args) {
        assertThat(Latticed.quickParse(Map.of(), args)).isNull();
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void anEmptyDirectoryVariableIsLeftToPicocli(String[] args) {
        assertThat(Latticed.quickParse(Map.of("LATTICE_STATE_DIR", ""), args)).isNull();
        assertThat(Latticed.quickParse(Map.of("LATTICE_SOCKET", ""), args)).isNull();
        assertThat(Latticed.quickParse(Map.of("LATTICE_STATE_DIR", "/srv/l"), args)).isNotNull();
    }
}
