package dev.lattice.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lattice.testlab.Exec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Where the build left what these tests check: the checkout, lattice.jar, the .deb packages. */
final class Build {
    static final List<String> PACKAGES = List.of("lattice-runtime", "lattice-control", "latticed", "lattice-derper");

    private Build() {}

    static Path repo() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("lattice-dist/src/packaging"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("no checkout above " + Path.of("").toAbsolutePath());
        return p;
    }

    static Path packaging() {
        return repo().resolve("lattice-dist/src/packaging");
    }

    static Path jar() {
        Path jar = repo().resolve("lattice-dist/target/lattice.jar");
        assertThat(jar).as("lattice.jar (built by lattice-dist before this module)").isRegularFile();
        return jar;
    }

    /** The Maven version (surefire passes it). */
    static String version() {
        String v = System.getProperty("lattice.version");
        assertThat(v).as("system property lattice.version (set in lattice-packaging's pom)").isNotBlank();
        return v;
    }

    /** Debian's spelling of it: 0.1.0-SNAPSHOT is 0.1.0~SNAPSHOT (sorts before the release). */
    static String debVersion() {
        return version().replace('-', '~');
    }

    static boolean debianTools() {
        return Exec.run("sh", "-c", "command -v dpkg-deb").ok();
    }

    static String arch() {
        return Exec.runChecked("dpkg", "--print-architecture").stdout().strip();
    }

    /** The built packages; skips (visibly) where there is no dpkg to build them with. */
    static Path debs() {
        assumeTrue(debianTools(), "dpkg-deb not found: the build makes no .deb packages on this machine");
        Path dir = repo().resolve("lattice-dist/target/packages/deb");
        assertThat(dir).as("packages built by lattice-dist (not skipped with -Dlattice.packages.skip)").isDirectory();
        return dir;
    }

    static Path deb(String pkg) {
        Path p = debs().resolve(pkg + "_" + debVersion() + "_" + arch() + ".deb");
        assertThat(p).as("package " + pkg).isRegularFile();
        return p;
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Path> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
