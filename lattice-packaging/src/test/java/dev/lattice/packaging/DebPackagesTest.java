package dev.lattice.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.testlab.Exec;
import dev.lattice.testlab.ExecResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The .deb packages as built, read without installing them: their control fields, contents, conffiles and
 * maintainer scripts; the systemd units each role ships (settings and systemd's own exposure score); and the
 * control server's packaged config, which must load as the server loads it and agree with its unit.
 */
class DebPackagesTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # package      | Depends (after the version is filled in)        | conffiles                | files (space-separated; -> a symlink's target)
            lattice-runtime | libc6 (>= 2.17)                                |                          | ./usr/lib/lattice/runtime/bin/java ./usr/lib/lattice/runtime/lib/server/classes.jsa ./usr/lib/lattice/lattice.jar ./usr/lib/lattice/lattice-cli.jar ./usr/lib/lattice/bin/lattice-launch ./usr/lib/lattice/bin/lattice-control ./usr/lib/lattice/bin/latticed
            lattice-control | lattice-runtime (= V), passwd                  | /etc/lattice/config.yaml | ./usr/bin/lattice-control->../lib/lattice/bin/lattice-control ./usr/lib/systemd/system/lattice-control.service ./etc/lattice/config.yaml
            latticed        | lattice-runtime (= V)                          | /etc/default/latticed    | ./usr/sbin/latticed->../lib/lattice/bin/latticed ./usr/bin/lattice->../lib/lattice/bin/lattice ./usr/bin/lattice-wg->../lib/lattice/bin/lattice-wg ./usr/lib/systemd/system/latticed.service
            lattice-derper  | lattice-runtime (= V), passwd                  | /etc/default/lattice-derper | ./usr/bin/lattice-derper->../lib/lattice/bin/lattice-derper ./usr/lib/systemd/system/lattice-derper.service
            """)
    void controlFieldsContentsAndConffiles(String pkg, String depends, String conffiles, String files) {
        Path deb = Build.deb(pkg);
        assertThat(field(deb, "Package")).isEqualTo(pkg);
        assertThat(field(deb, "Version")).isEqualTo(Build.debVersion());
        assertThat(field(deb, "Architecture")).isEqualTo(Build.arch());
        assertThat(field(deb, "Depends")).isEqualTo(depends.replace("(= V)", "(= " + Build.debVersion() + ")"));
        assertThat(Integer.parseInt(field(deb, "Installed-Size"))).isPositive();

        Path control = extractControl(deb);
        Path conf = control.resolve("conffiles");
        assertThat(Files.exists(conf) ? Build.read(conf).strip() : "").isEqualTo(conffiles == null ? "" : conffiles);

        String listing = Exec.runChecked("dpkg-deb", "--contents", deb.toString()).stdout();
        for (String f : files.split(" ")) {
            String[] link = f.split("->");
            String expected = link.length == 2 ? link[0] + " -> " + link[1] : f;
            assertThat(listing).as("%s contains %s", pkg, expected).containsPattern("(?m) " + Pattern.quote(expected) + "$");
        }
        assertThat(listing).as("every file root-owned").doesNotContainPattern("(?m)^\\S+ (?!root/root)");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"lattice-control", "latticed", "lattice-derper"})
    void maintainerScriptsAreValidShWithEveryPlaceholderFilled(String pkg) {
        Path control = extractControl(Build.deb(pkg));
        for (String script : List.of("postinst", "prerm", "postrm")) {
            Path p = control.resolve(script);
            assertThat(p).as(pkg + " " + script).isExecutable();
            String text = Build.read(p);
            assertThat(text).startsWith("#!/bin/sh\n").doesNotContainPattern("@[A-Z_]+@");
            ExecResult syntax = Exec.run("sh", "-n", p.toString());
            assertThat(syntax.ok()).as(syntax.describe()).isTrue();
        }
        assertThat(Build.read(control.resolve("postrm")))
                .as("state is removed on purge only").containsPattern("(?s)purge\\)\\s+#[^\\n]*\\n\\s+rm -rf \"\\$STATE_DIR\"");
    }

    /** What each role's unit must say; Headscale's and tailscaled's units are the model. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # unit                 | User    | CapabilityBoundingSet | StateDirectory | RuntimeDirectory | ProtectSystem | ExecReload              | max exposure
            lattice-control.service | lattice | CAP_NET_BIND_SERVICE  | lattice        | lattice-control  | strict        | /bin/kill -HUP $MAINPID | 2.0
            latticed.service        |         | CAP_NET_ADMIN         | latticed       | lattice          | true          |                         | 4.0
            lattice-derper.service  | lattice | CAP_NET_BIND_SERVICE  | lattice-derper |                  | strict        |                         | 2.0
            """)
    void unitsAreHardenedAndNotifyWhenReady(String unit, String user, String caps, String state, String runtime,
            String protectSystem, String reload, double maxExposure) {
        Path file = Build.packaging().resolve("systemd").resolve(unit);
        Map<String, List<String>> s = unitSettings(file);
        assertThat(s.get("Type")).as("readiness over sd_notify").containsExactly("notify");
        assertThat(s.get("Restart")).containsExactly("on-failure");
        assertThat(s.getOrDefault("User", List.of())).isEqualTo(user == null ? List.of() : List.of(user));
        assertThat(s.get("CapabilityBoundingSet")).containsExactly(caps);
        assertThat(s.get("StateDirectory")).containsExactly(state);
        assertThat(s.getOrDefault("RuntimeDirectory", List.of())).isEqualTo(runtime == null ? List.of() : List.of(runtime));
        assertThat(s.get("ProtectSystem")).containsExactly(protectSystem);
        assertThat(s.get("NoNewPrivileges")).containsExactly("true");
        assertThat(s.getOrDefault("ExecReload", List.of())).isEqualTo(reload == null ? List.of() : List.of(reload));
        assertThat(s).as("the JIT writes code").doesNotContainKey("MemoryDenyWriteExecute");
        assertThat(s.get("WantedBy")).containsExactly("multi-user.target");

        assumeTrue(Exec.run("sh", "-c", "command -v systemd-analyze").ok(), "systemd-analyze not installed (.ci/run installs systemd)");
        ExecResult r = Exec.run("systemd-analyze", "security", "--offline=true", "--no-pager", file.toString());
        Matcher m = Pattern.compile("Overall exposure level for \\S+: (\\d+\\.\\d+)").matcher(r.stdout());
        assertThat(m.find()).as(r.describe()).isTrue();
        double exposure = Double.parseDouble(m.group(1));
        System.out.printf("[packaging] %s: systemd-analyze security exposure %.1f%n", unit, exposure);
        assertThat(exposure).as("systemd's exposure score (0 safest, 10 unsafe)").isLessThanOrEqualTo(maxExposure);
    }

    @Test
    void thePackagedControlConfigLoadsCleanlyAndMatchesItsUnit() {
        Path yaml = Build.packaging().resolve("etc/lattice/config.yaml");
        ControlConfig cfg = ControlConfig.load(yaml);
        assertThat(cfg.unsupportedKeys()).isEmpty();
        assertThat(cfg.warnings()).isEmpty();
        // Everything it writes is under the unit's StateDirectory= or RuntimeDirectory=, as ProtectSystem=strict allows.
        assertThat(cfg.database().sqlite().path()).isEqualTo(Path.of("/var/lib/lattice/db.sqlite"));
        assertThat(cfg.noisePrivateKeyPath()).startsWithRaw(Path.of("/var/lib/lattice"));
        assertThat(cfg.derp().server().privateKeyPath()).startsWithRaw(Path.of("/var/lib/lattice"));
        assertThat(cfg.unixSocket()).startsWithRaw(Path.of("/run/lattice-control"));
        // As installed it answers on this machine only.
        assertThat(cfg.listenAddr().host()).isEqualTo("127.0.0.1");
    }

    private static String field(Path deb, String name) {
        return Exec.runChecked("dpkg-deb", "--field", deb.toString(), name).stdout().strip();
    }

    private Path extractControl(Path deb) {
        Path dir = tmp.resolve(deb.getFileName() + ".control");
        Exec.runChecked("dpkg-deb", "--control", deb.toString(), dir.toString());
        return dir;
    }

    /** [Section] Key=Value lines; a key given twice keeps both values in order. */
    static Map<String, List<String>> unitSettings(Path unit) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (String line : Build.read(unit).lines().toList()) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#") || l.startsWith("[")) continue;
            int eq = l.indexOf('=');
            m.computeIfAbsent(l.substring(0, eq), k -> new ArrayList<>()).add(l.substring(eq + 1));
        }
        return m;
    }
}
