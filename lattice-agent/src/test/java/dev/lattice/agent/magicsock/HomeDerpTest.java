package dev.lattice.agent.magicsock;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.ipn.NetcheckReport;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DERPRegion;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The home DERP region follows the lowest latency, with hysteresis so it does not flap. */
class HomeDerpTest {
    static NetcheckReport report(int preferred, Map<Integer, Double> latency) {
        return new NetcheckReport(true, true, false, "", "", null, preferred, latency, latency);
    }

    static final DERPMap MAP = new DERPMap(null, Map.of(
            905, new DERPRegion(905, "b", "b", null, null, null, null, List.of()),
            901, new DERPRegion(901, "a", "a", null, null, null, null, List.of())), null);

    @Test
    void theFirstHomeIsThePreferredRegion() {
        assertThat(MagicSock.nextHome(0, report(905, Map.of(905, 0.010, 901, 0.020)), MAP)).isEqualTo(905);
    }

    @Test
    void aSlightlyFasterRegionDoesNotTakeOverButAClearlyFasterOneDoes() {
        assertThat(MagicSock.nextHome(901, report(905, Map.of(905, 0.015, 901, 0.020)), MAP)).isEqualTo(901);
        assertThat(MagicSock.nextHome(901, report(905, Map.of(905, 0.010, 901, 0.020)), MAP)).isEqualTo(905);
    }

    @Test
    void anUnmeasuredHomeIsReplaced() {
        assertThat(MagicSock.nextHome(901, report(905, Map.of(905, 0.050)), MAP)).isEqualTo(905);
    }

    @Test
    void withNothingMeasuredTheHomeIsKeptOrTheLowestRegionTaken() {
        assertThat(MagicSock.nextHome(905, report(0, Map.of()), MAP)).isEqualTo(905);
        assertThat(MagicSock.nextHome(0, report(0, Map.of()), MAP)).isEqualTo(901);
        assertThat(MagicSock.nextHome(0, report(0, Map.of()), null)).isZero();
    }
}
