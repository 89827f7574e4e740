package dev.lattice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench/control-load.sh} builds from the checkout alone (one Maven invocation with {@code -am}, so the
 * reactor, not ~/.m2, provides Lattice's modules) and, when a step fails under {@code set -e}, says which one.
 * Maven is replaced by a stub that records its arguments and fails.
 */
class ControlLoadScriptTest {
    @TempDir
    Path dir;

    @Test
    void buildsFromTheCheckoutAndNamesTheStepThatFailed() throws Exception {
        Path script = Path.of("..", "bench", "control-load.sh").toAbsolutePath().normalize();
        Path args = dir.resolve("args");
        Path mvnw = dir.resolve("mvnw");
        Files.writeString(mvnw, "#!/bin/sh\necho \"$@\" > " + args + "\nexit 3\n");
        Files.setPosixFilePermissions(mvnw, PosixFilePermissions.fromString("rwx------"));

        ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), "10").redirectErrorStream(false);
        pb.environment().put("LATTICE_MVNW", mvnw.toString());
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);

        assertThat(p.exitValue()).isEqualTo(3);
        assertThat(err).contains("control-load.sh: building lattice.jar and the load generator (" + mvnw
                + " package dependency:build-classpath) failed (exit 3)");
        assertThat(Files.readString(args)).contains("package dependency:build-classpath").contains("-am")
                .contains("-pl lattice-dist,lattice-bench");
    }
}
