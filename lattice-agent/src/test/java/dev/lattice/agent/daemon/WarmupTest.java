package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.netmap.NetworkMap;
import org.junit.jupiter.api.Test;

/** The warm-up runs the first up's code on its recorded tailnet, and latticed's training run is that warm-up. */
class WarmupTest {
    @Test
    void theRecordedMapsMakeANetmapOfTwoNodes() throws Exception {
        NetworkMap nm = Warmup.maps();
        assertThat(nm.self().name()).isEqualTo("lb.tailnet.test.");
        assertThat(nm.peers()).hasSize(1);
        assertThat(nm.derpMap().regions()).containsKey(999);
        assertThat(nm.packetFilter()).isNotEmpty();
        // the second message, a delta, moved our own endpoints: the builder applied it
        assertThat(nm.self().endpoints()).isNotEmpty();
    }

    @Test
    void runsAndTheTrainingRunSucceeds() throws Exception {
        Warmup.run();
        assertThat(Latticed.run(Warmup.ARG)).isZero();
    }
}
