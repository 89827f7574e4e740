package dev.lattice.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WarmUpTest {
    @Test
    void theSyntheticFlowIsSplitAndEverySegmentMerged() {
        // 64,000 bytes in 1,380-byte segments: 47 of them, all valid TCP that the coalescer takes
        assertThat(WarmUp.offload(3)).isEqualTo(3 * 47);
    }
}
