package dev.lattice.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lattice.testlab.Exec;
import dev.lattice.testlab.ExecResult;
import java.lang.module.Configuration;
import java.lang.module.ModuleFinder;
import java.lang.module.ResolvedModule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The packages' trimmed runtime holds what lattice.jar needs: the module list the build gives jlink
 * ({@code lattice-dist/src/packaging/runtime-modules}) covers every module jdeps finds the jar using, except
 * those the list leaves out with a reason; and the runtime the build made holds exactly that list.
 */
class RuntimeModulesTest {
    /** "#   java.desktop   reason..." in the list's "Not here, on purpose" section. */
    private static final Pattern LEFT_OUT = Pattern.compile("^#\\s{2,}([a-z][a-z0-9.]+)\\s{2,}\\S.*$");

    record ModuleList(Set<String> included, Set<String> leftOut) {
        static ModuleList read(Path file) {
            Set<String> in = new LinkedHashSet<>();
            Set<String> out = new LinkedHashSet<>();
            for (String line : Build.read(file).lines().toList()) {
                Matcher m = LEFT_OUT.matcher(line);
                if (m.matches()) out.add(m.group(1));
                else if (!line.isBlank() && !line.startsWith("#")) in.add(line.strip());
            }
            return new ModuleList(in, out);
        }

        /** What jlink --add-modules puts in: the listed modules and everything they require. */
        Set<String> closure() {
            Configuration cf = Configuration.empty().resolve(ModuleFinder.ofSystem(), ModuleFinder.of(), included);
            return cf.modules().stream().map(ResolvedModule::name).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static ModuleList list() {
        return ModuleList.read(Build.packaging().resolve("runtime-modules"));
    }

    @Test
    void theListReadsAsIntended() {
        ModuleList l = list();
        assertThat(l.included()).contains("java.base", "java.sql", "jdk.unsupported").doesNotContain("java.desktop");
        assertThat(l.leftOut()).contains("java.desktop");
    }

    @Test
    void everyModuleTheJarUsesIsInTheRuntimeOrLeftOutWithAReason() {
        Path jdeps = Path.of(System.getProperty("java.home"), "bin", "jdeps");
        assumeTrue(Files.isExecutable(jdeps), "no jdeps in " + System.getProperty("java.home") + " (a JRE?)");
        ExecResult r = Exec.run(Duration.ofMinutes(3), null, Map.of(), List.of(jdeps.toString(), "--list-deps",
                "--ignore-missing-deps", "--multi-release", String.valueOf(Runtime.version().feature()),
                Build.jar().toString()));
        assertThat(r.ok()).as(r.describe()).isTrue();
        List<String> removedApis = new ArrayList<>();
        Set<String> used = new TreeSet<>();
        for (String line : r.stdout().lines().map(String::strip).filter(s -> !s.isEmpty()).toList()) {
            // "JDK removed internal API/sun.net.spi.nameservice": a JDK 8 API some library probes for; no runtime has it.
            if (line.startsWith("JDK removed internal API")) removedApis.add(line);
            else used.add(line.contains("/") ? line.substring(0, line.indexOf('/')) : line);
        }
        ModuleList l = list();
        Set<String> missing = new TreeSet<>(used);
        missing.removeAll(l.closure());
        missing.removeAll(l.leftOut());
        assertThat(missing)
                .as("modules lattice.jar uses that runtime-modules neither lists nor leaves out with a reason "
                        + "(jdeps: %s)", used)
                .isEmpty();
        System.out.println("[packaging] jdeps: lattice.jar uses " + used + "; runtime leaves out " + l.leftOut()
                + (removedApis.isEmpty() ? "" : "; probes for " + removedApis));
    }

    @Test
    void theBuiltRuntimeHoldsExactlyTheListedModulesAndWhatTheyRequire() {
        Build.debs(); // skips where the build made no packages
        Path java = Build.repo().resolve("lattice-dist/target/packages/work/runtime/bin/java");
        assertThat(java).isExecutable();
        ExecResult r = Exec.run(java.toString(), "--list-modules");
        assertThat(r.ok()).as(r.describe()).isTrue();
        Set<String> modules = r.stdout().lines().map(s -> s.replaceFirst("@.*", "").strip())
                .filter(s -> !s.isEmpty()).collect(Collectors.toCollection(TreeSet::new));
        ModuleList l = list();
        assertThat(modules).containsExactlyElementsOf(l.closure());
        assertThat(modules).doesNotContainAnyElementsOf(l.leftOut());
        assertThat(Arrays.asList("javac", "jar", "jlink", "jdeps"))
                .noneMatch(tool -> Files.exists(java.resolveSibling(tool)));
    }
}
