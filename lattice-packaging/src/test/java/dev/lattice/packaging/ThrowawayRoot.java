package dev.lattice.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.Exec;
import dev.lattice.testlab.ExecResult;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Runs a steps script as root in a copy-on-write copy of this machine's root filesystem, in fresh mount, network
 * and PID namespaces: in a chroot (throwaway-root.sh) or under systemd booted in it (systemd-boot.sh). dpkg can
 * install packages there, nothing reaches the host's files or network, and when the script ends (or times out)
 * the namespaces, their processes and every write vanish.
 * Each step leaves {@code NAME.out} and {@code NAME.rc} in the results directory.
 */
final class ThrowawayRoot {
    private ThrowawayRoot() {}

    record Step(String name, int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }
    }

    /** Results of one run, read back from the host directory the namespace wrote them to. */
    record Results(Path dir, ExecResult run) {
        Step step(String name) {
            Path rc = dir.resolve(name + ".rc");
            assertThat(rc).as("step %s ran (namespace run: %s)", name, run.describe()).exists();
            Path out = dir.resolve(name + ".out");
            return new Step(name, Integer.parseInt(Build.read(rc).strip()), Files.exists(out) ? Build.read(out) : "");
        }

        String file(String name) {
            Path p = dir.resolve(name);
            return Files.exists(p) ? Build.read(p) : "";
        }
    }

    /** Runs {@code stepsResource} in a chroot of the throwaway root (throwaway-root.sh). */
    static Results run(Path workDir, Path debs, String stepsResource, Duration timeout) throws IOException {
        return run(workDir, debs, "throwaway-root.sh", stepsResource, timeout);
    }

    /** Runs {@code setupResource} WORKDIR DEBS RESULTS STEPS in fresh mount, network and PID namespaces. */
    static Results run(Path workDir, Path debs, String setupResource, String stepsResource, Duration timeout)
            throws IOException {
        Files.createDirectories(workDir);
        Path mnt = Files.createDirectories(workDir.resolve("mnt"));
        Path results = Files.createDirectories(workDir.resolve("results"));
        Path setup = copyResource(setupResource, workDir);
        Path steps = copyResource(stepsResource, workDir);
        ExecResult r = Exec.run(timeout, null, Map.of(), List.of("unshare", "--mount", "--propagation", "private",
                "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "bash", setup.toString(), mnt.toString(),
                debs.toAbsolutePath().toString(), results.toString(), steps.toString()));
        return new Results(results, r);
    }

    private static Path copyResource(String name, Path dir) throws IOException {
        Path p = dir.resolve(name);
        try (InputStream in = ThrowawayRoot.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing test resource " + name);
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }
}
