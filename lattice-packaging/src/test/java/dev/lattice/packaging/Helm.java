package dev.lattice.packaging;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lattice.testlab.Exec;
import dev.lattice.testlab.ExecResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The helm binary: {@code LATTICE_HELM}, else helm on PATH, else where .ci/run installs it
 * ({@code ~/.cache/lattice-tools/bin/helm}). Tests that need it skip, visibly, without it.
 */
final class Helm {
    private Helm() {}

    static Path binary() {
        List<Path> candidates = new ArrayList<>();
        String env = System.getenv("LATTICE_HELM");
        if (env != null && !env.isBlank()) candidates.add(Path.of(env));
        ExecResult which = Exec.run("sh", "-c", "command -v helm");
        if (which.ok()) candidates.add(Path.of(which.stdout().strip()));
        candidates.add(Path.of(System.getProperty("user.home"), ".cache/lattice-tools/bin/helm"));
        Path found = candidates.stream().filter(Files::isExecutable).findFirst().orElse(null);
        assumeTrue(found != null, "helm not found (set LATTICE_HELM; .ci/run installs helm.sh/helm/v4 into "
                + "~/.cache/lattice-tools/bin): chart not linted or rendered");
        return found;
    }

    static ExecResult run(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(binary().toString());
        cmd.addAll(List.of(args));
        return Exec.run(Duration.ofMinutes(2), null, Map.of(), cmd);
    }
}
