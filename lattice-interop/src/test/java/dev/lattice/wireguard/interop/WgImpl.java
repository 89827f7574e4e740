package dev.lattice.wireguard.interop;

import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Support;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A userspace WireGuard daemon with wireguard-go's command line ({@code BINARY -f IFNAME}, UAPI socket in
 * /var/run/wireguard) that the interop tests can run.
 */
enum WgImpl {
    /** Debian's wireguard-go ({@code /usr/bin/wireguard-go}), or env {@code LATTICE_WIREGUARD_GO}. */
    WIREGUARD_GO("wireguard-go"),
    /** Ours: env {@code LATTICE_WG}, default {@code <repo>/bin/lattice-wg}. */
    LATTICE("lattice-wg"),
    /** An upstream wireguard-go build, only if env {@code LATTICE_WIREGUARD_GO_UPSTREAM} names it. */
    UPSTREAM("wireguard-go-upstream");

    private final String displayName;

    WgImpl(String displayName) {
        this.displayName = displayName;
    }

    String displayName() {
        return displayName;
    }

    /** The executable, if it is available here. */
    Optional<Path> binary() {
        return availability().available() ? Optional.of(resolve()) : Optional.empty();
    }

    /** Whether this implementation can run here, and if not, a message saying why and how to enable it. */
    Support availability() {
        return switch (this) {
            case WIREGUARD_GO -> {
                String env = System.getenv("LATTICE_WIREGUARD_GO");
                if (env != null && !env.isBlank()) {
                    yield executable(Path.of(env), "LATTICE_WIREGUARD_GO=" + env);
                }
                yield Lab.findCommand("wireguard-go").isPresent() ? Support.OK
                        : Support.missing("wireguard-go not installed (apt install wireguard-go, or set "
                                + "LATTICE_WIREGUARD_GO): wireguard-go interop skipped");
            }
            case UPSTREAM -> {
                String env = System.getenv("LATTICE_WIREGUARD_GO_UPSTREAM");
                if (env == null || env.isBlank()) {
                    yield Support.missing(
                            "LATTICE_WIREGUARD_GO_UPSTREAM not set: upstream wireguard-go interop skipped");
                }
                yield executable(Path.of(env), "LATTICE_WIREGUARD_GO_UPSTREAM=" + env);
            }
            case LATTICE -> {
                String env = System.getenv("LATTICE_WG");
                if (env != null && !env.isBlank()) {
                    yield executable(Path.of(env), "LATTICE_WG=" + env);
                }
                Optional<Path> root = repoRoot();
                if (root.isEmpty()) {
                    yield Support.missing("cannot find the repository's bin/lattice-wg from "
                            + System.getProperty("user.dir") + " and LATTICE_WG is not set: lattice-wg skipped");
                }
                Path jar = Optional.ofNullable(System.getenv("LATTICE_JAR")).filter(s -> !s.isBlank())
                        .map(Path::of).orElse(root.get().resolve("lattice-dist/target/lattice.jar"));
                if (!Files.isRegularFile(jar)) {
                    // bin/lattice-launch would start a nested Maven build inside the test; don't.
                    yield Support.missing(jar + " not built yet (run ./mvnw package -DskipTests first, "
                            + "or set LATTICE_WG): lattice-wg interop skipped");
                }
                yield executable(root.get().resolve("bin/lattice-wg"), "bin/lattice-wg");
            }
        };
    }

    private Path resolve() {
        return switch (this) {
            case WIREGUARD_GO -> {
                String env = System.getenv("LATTICE_WIREGUARD_GO");
                yield env != null && !env.isBlank() ? Path.of(env) : Lab.findCommand("wireguard-go").orElseThrow();
            }
            case UPSTREAM -> Path.of(System.getenv("LATTICE_WIREGUARD_GO_UPSTREAM"));
            case LATTICE -> {
                String env = System.getenv("LATTICE_WG");
                yield env != null && !env.isBlank() ? Path.of(env) : repoRoot().orElseThrow().resolve("bin/lattice-wg");
            }
        };
    }

    private static Support executable(Path p, String what) {
        return Files.isRegularFile(p) && Files.isExecutable(p) ? Support.OK
                : Support.missing(what + " is not an executable file");
    }

    /** The repository root: the nearest ancestor of the working directory holding bin/lattice-wg. */
    static Optional<Path> repoRoot() {
        for (Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("bin/lattice-wg")) && Files.isRegularFile(p.resolve("pom.xml"))) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return displayName;
    }
}
