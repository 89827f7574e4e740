package dev.lattice.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lattice.packaging.ThrowawayRoot.Results;
import dev.lattice.packaging.ThrowawayRoot.Step;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packages installed with {@code dpkg -i} as an admin would, on a copy of this machine with every JDK
 * removed (see {@link ThrowawayRoot}; needs root, hence the netns tag): the commands run on the packaged runtime,
 * the units pass {@code systemd-analyze verify}, the control server starts as its unit starts it (user lattice,
 * packaged config, READY=1 over the notify socket) and serves its admin CLI; remove keeps its data, purge does not.
 */
@Tag("netns")
@Timeout(300)
class DebInstallTest {
    @TempDir
    static Path tmp;

    static Results r;

    @BeforeAll
    static void installAndUse() throws Exception {
        Path debs = Build.debs();
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "no /usr/bin/python3: it plays systemd's notify socket");
        long t0 = System.nanoTime();
        r = ThrowawayRoot.run(tmp, debs, "install-steps.sh", Duration.ofMinutes(4));
        System.out.printf("[packaging] install, use, remove and purge in a throwaway root: %d ms%n",
                (System.nanoTime() - t0) / 1_000_000);
        assertThat(r.run().ok()).as(r.run().describe()).isTrue();
    }

    private static Step ok(String name) {
        Step s = r.step(name);
        assertThat(s.exitCode()).as("step %s failed:%n%s", name, s.output()).isZero();
        return s;
    }

    @Test
    void installsAndRunsWithNoJdkOnTheMachine() {
        assertThat(r.step("java-on-path").ok()).as("java must not be on PATH in the throwaway root").isFalse();
        ok("install");
        assertThat(ok("control-version").output().strip()).isEqualTo("lattice-control " + Build.version());
        assertThat(ok("latticed-version").output()).isNotBlank();
        assertThat(ok("lattice-help").output()).contains("up");
        // the CLI's quick path, from the packaged lattice-cli.jar
        assertThat(ok("lattice-version").output().strip()).isEqualTo(Build.version());
        assertThat(ok("derper-help").output()).contains("--hostname");
        assertThat(ok("runtime-java-modules").output()).contains("java.base@").doesNotContain("java.desktop", "jdk.compiler");
    }

    @Test
    void unitsPassSystemdAnalyzeVerify() {
        Step v = r.step("verify-units");
        assertThat(v.exitCode()).as("systemd-analyze verify:%n%s", v.output()).isZero();
        assertThat(v.output()).as("systemd-analyze verify has no complaint").isBlank();
    }

    @Test
    void systemUserStateDirectoriesConfigModesAndEnabledUnits() {
        String user = ok("user").output().strip();
        String[] pw = user.split(":");
        assertThat(pw[0]).isEqualTo("lattice");
        assertThat(Integer.parseInt(pw[2])).as("a system uid").isLessThan(1000);
        assertThat(pw[5]).isEqualTo("/var/lib/lattice");
        assertThat(pw[6]).isEqualTo("/usr/sbin/nologin");
        assertThat(ok("state-dirs").output()).contains(
                "/var/lib/lattice lattice:lattice 750", "/var/lib/latticed root:root 700",
                "/var/lib/lattice-derper lattice:lattice 750");
        assertThat(ok("config-mode").output()).contains(
                "/etc/lattice/config.yaml root:lattice 640", "/etc/default/latticed root:root 644");
        // Headscale's and tailscale's packages start at install; the relay waits for its certificates.
        assertThat(ok("enabled-units").output()).contains("lattice-control.service", "latticed.service")
                .doesNotContain("lattice-derper.service");
    }

    @Test
    void theControlServerRunsAsItsUnitRunsItAndSaysWhenReady() {
        assertThat(r.file("notify.out")).as("sd_notify messages (server log:%n%s)", r.file("serve.log"))
                .contains("READY=1", "STATUS=serving http://127.0.0.1:8080");
        ok("users-create");
        assertThat(ok("preauthkey").output().strip()).doesNotContain("\n").hasSizeGreaterThan(20);
        assertThat(ok("users-list").output()).contains("\"alice\"");
        assertThat(ok("health").output()).startsWith("HTTP/1.1 200").contains("pass");
        assertThat(ok("state-files").output()).contains(
                "/var/lib/lattice/db.sqlite lattice", "/var/lib/lattice/noise_private.key lattice 600",
                "/var/lib/lattice/derp_server_private.key lattice 600");
        assertThat(ok("after-hup").output()).as("still serving after SIGHUP (systemctl reload)").contains("\"alice\"");
        assertThat(r.file("serve.log")).contains("SIGHUP: no policy file to reload (policy mode database");
        assertThat(r.file("server-exit.rc").strip()).as("exit after SIGTERM (log:%n%s)", r.file("serve.log"))
                .isIn("0", "143");
    }

    @Test
    void removeKeepsStateAndConfigPurgeRemovesThem() {
        ok("remove");
        assertThat(ok("after-remove").output()).contains("db.sqlite", "noise_private.key", "config.yaml");
        ok("purge");
        assertThat(r.step("after-purge").output()).contains(
                "cannot access '/var/lib/lattice'", "cannot access '/etc/lattice/config.yaml'");
        ok("purge-agent");
        assertThat(r.step("after-purge-agent").output()).contains("cannot access '/var/lib/latticed'",
                "cannot access '/usr/lib/lattice'", "cannot access '/etc/default/latticed'");
    }
}
