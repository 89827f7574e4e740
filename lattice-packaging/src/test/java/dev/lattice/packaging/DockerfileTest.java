package dev.lattice.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.testlab.Exec;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.json.JsonMapper;

/**
 * deploy/docker/Dockerfile, read as Docker reads it (no Docker engine runs here, so no image is built): only
 * known instructions; one target per role; every COPY source is sent by the .dockerignore and exists once the
 * build has run; exec-form ENTRYPOINT/CMD are JSON arrays naming commands the role's package installs; the
 * image's user id is the one the Kubernetes manifests run as; the container config loads cleanly.
 */
class DockerfileTest {
    static final Path DOCKERFILE = Build.repo().resolve("deploy/docker/Dockerfile");
    static final Set<String> INSTRUCTIONS = Set.of("FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY",
            "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL");

    record Instruction(String keyword, String args) {}

    /** Instructions per stage ("FROM x AS name" opens stage "name"); continuation lines joined, comments dropped. */
    static Map<String, List<Instruction>> stages() {
        Map<String, List<Instruction>> stages = new LinkedHashMap<>();
        List<Instruction> current = new ArrayList<>();
        stages.put("", current);
        StringBuilder logical = new StringBuilder();
        for (String raw : Build.read(DOCKERFILE).lines().toList()) {
            String line = raw.strip();
            if (logical.isEmpty() && (line.isEmpty() || line.startsWith("#"))) continue;
            if (line.startsWith("#")) continue;
            if (line.endsWith("\\")) {
                logical.append(line, 0, line.length() - 1).append(' ');
                continue;
            }
            logical.append(line);
            String[] kw = logical.toString().split("\\s+", 2);
            Instruction ins = new Instruction(kw[0].toUpperCase(), kw.length > 1 ? kw[1] : "");
            logical.setLength(0);
            assertThat(INSTRUCTIONS).as("instruction %s", ins.keyword()).contains(ins.keyword());
            assertThat(ins.keyword()).as("written upper-case").isEqualTo(kw[0]);
            if (ins.keyword().equals("FROM")) {
                String[] from = ins.args().split("\\s+");
                current = new ArrayList<>();
                stages.put(from.length == 3 && from[1].equalsIgnoreCase("AS") ? from[2] : "#" + stages.size(), current);
            }
            current.add(ins);
        }
        assertThat(logical).as("a trailing backslash continues into nothing").isEmpty();
        return stages;
    }

    static List<String> args(String stage, String keyword) {
        return stages().get(stage).stream().filter(i -> i.keyword().equals(keyword)).map(Instruction::args).toList();
    }

    @Test
    void oneTargetPerRoleBuiltOnTheBaseWithTheLatticeUser() {
        Map<String, List<Instruction>> s = stages();
        assertThat(s.keySet()).contains("base", "lattice-control", "latticed", "lattice-derper");
        for (String role : List.of("lattice-control", "latticed", "lattice-derper")) {
            assertThat(s.get(role).get(0).args()).as(role).isEqualTo("base AS " + role);
        }
        assertThat(String.join(" ", args("base", "RUN"))).contains("--gid 10001 lattice", "--uid 10001");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            lattice-control | lattice-control | lattice | ["lattice-control"]
            latticed        | latticed        |         | ["latticed"]
            lattice-derper  | lattice-derper  | lattice | ["lattice-derper", "-c", "/var/lib/lattice-derper/derper.key"]
            """)
    void eachRoleInstallsItsPackageAndStartsItsCommand(String stage, String pkg, String user, String entrypoint) {
        List<String> copies = args(stage, "COPY");
        assertThat(String.join(" ", copies)).contains("lattice-runtime_*.deb", pkg + "_*.deb");
        assertThat(String.join(" ", args(stage, "RUN"))).contains("apt-get install -y --no-install-recommends /tmp/debs/*.deb");
        assertThat(args(stage, "USER")).isEqualTo(user == null ? List.of() : List.of(user));

        JsonMapper json = JsonMapper.builder().build();
        List<String> ep = json.readValue(args(stage, "ENTRYPOINT").getFirst(), json.getTypeFactory()
                .constructCollectionType(List.class, String.class));
        assertThat(ep).isEqualTo(json.readValue(entrypoint, json.getTypeFactory().constructCollectionType(List.class, String.class)));
        assertThat(json.readTree(args(stage, "CMD").getFirst()).isArray()).as("CMD in exec form").isTrue();
        if (Build.debianTools()) {
            String contents = Exec.runChecked("dpkg-deb", "--contents", Build.deb(pkg).toString()).stdout();
            assertThat(contents).as("%s installs the entrypoint %s", pkg, ep.getFirst())
                    .containsPattern("\\./usr/s?bin/" + ep.getFirst() + " -> ");
        }
    }

    @Test
    void everyCopySourceIsInTheBuildContextAndExistsAfterTheBuild() {
        List<String> ignore = Build.read(Build.repo().resolve(".dockerignore")).lines()
                .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertThat(ignore.getFirst()).as(".dockerignore starts by excluding everything").isEqualTo("*");
        List<PathMatcher> sent = ignore.stream().filter(l -> l.startsWith("!"))
                .map(l -> FileSystems.getDefault().getPathMatcher("glob:" + l.substring(1))).toList();
        for (Map.Entry<String, List<Instruction>> stage : stages().entrySet()) {
            for (Instruction copy : stage.getValue().stream().filter(i -> i.keyword().equals("COPY")).toList()) {
                String[] parts = copy.args().split("\\s+");
                for (String src : List.of(parts).subList(0, parts.length - 1)) {
                    assertThat(sent).as("COPY %s in %s is sent by .dockerignore", src, stage.getKey())
                            .anyMatch(m -> m.matches(Path.of(src)));
                    if (src.endsWith(".deb") && !Build.debianTools()) continue;
                    PathMatcher glob = FileSystems.getDefault().getPathMatcher("glob:" + src);
                    Path dir = Build.repo().resolve(src).getParent();
                    assertThat(Build.list(dir)).as("COPY %s matches exactly one built file", src)
                            .filteredOn(p -> glob.matches(Build.repo().relativize(p))).hasSize(1);
                }
            }
        }
    }

    @Test
    void theContainerConfigLoadsAndKeepsItsSocketOnTheVolume() {
        ControlConfig cfg = ControlConfig.load(Build.repo().resolve("deploy/docker/lattice-control.yaml"));
        assertThat(cfg.unsupportedKeys()).isEmpty();
        assertThat(cfg.warnings()).isEmpty();
        assertThat(cfg.listenAddr().host()).as("reachable through the container's published port").isEqualTo("0.0.0.0");
        assertThat(args("lattice-control", "VOLUME")).containsExactly("/var/lib/lattice");
        assertThat(cfg.unixSocket()).startsWithRaw(Path.of("/var/lib/lattice"));
        assertThat(cfg.database().sqlite().path()).startsWithRaw(Path.of("/var/lib/lattice"));
    }

    @Test
    void theImageUserIsTheOneTheKubernetesManifestsRunAs() {
        String manifests = Build.read(Build.repo().resolve("deploy/kubernetes/lattice.yaml"));
        assertThat(manifests).contains("runAsUser: 10001", "fsGroup: 10001");
    }
}
