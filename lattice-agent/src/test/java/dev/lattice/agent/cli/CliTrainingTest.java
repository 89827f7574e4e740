package dev.lattice.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The AOT training run exercises the real quick path: a round trip over a socket, checked end to end. */
class CliTrainingTest {
    @TempDir
    Path dir;

    @Test
    void theTrainingRunTakesTheQuickPathOverASocket() throws Exception {
        assertThat(CliTraining.train(dir)).isNull();
    }

    @Test
    void theTrainingRoleSaysItWorked() {
        assertThat(CliTraining.run()).isZero();
    }
}
