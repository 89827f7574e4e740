package dev.lattice.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lattice.packaging.ThrowawayRoot.Results;
import dev.lattice.packaging.ThrowawayRoot.Step;
import dev.lattice.testlab.Exec;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged units under a real systemd: the packages installed in a throwaway copy of this machine with no JDK,
 * systemd booted in it with systemd-nspawn (own network, loopback only; needs root, hence the netns tag), the three
 * Lattice units started by their own unit files. Type=notify units count as started only after READY=1, so each
 * being active with the status text it sent shows the readiness protocol and the hardening (seccomp filter,
 * read-only system, dropped capabilities) let the JVM run. Then: the admin CLI over the RuntimeDirectory socket,
 * {@code systemctl reload}, and a clean {@code systemctl stop}. Skipped (visibly) without systemd-nspawn
 * (Debian's systemd-container, which .ci/run installs).
 */
@Tag("netns")
@Timeout(300)
class SystemdBootTest {
    @TempDir
    static Path tmp;

    static Results r;

    @BeforeAll
    static void boot() throws Exception {
        Path debs = Build.debs();
        assumeTrue(Exec.run("sh", "-c", "command -v systemd-nspawn").ok(),
                "systemd-nspawn not found (apt: systemd-container): the units are not run under systemd");
        long t0 = System.nanoTime();
        r = ThrowawayRoot.run(tmp, debs, "systemd-boot.sh", "systemd-probe-steps.sh", Duration.ofMinutes(4));
        System.out.printf("[packaging] systemd booted with the packages, probed and powered off: %d ms%n",
                (System.nanoTime() - t0) / 1_000_000);
        assertThat(r.run().ok()).as("%s%n--- console ---%n%s", r.run().describe(), r.file("console.log")).isTrue();
    }

    private static Step ok(String name) {
        Step s = r.step(name);
        assertThat(s.exitCode()).as("step %s failed:%n%s%n--- journal ---%n%s", name, s.output(), r.file("journal.out"))
                .isZero();
        return s;
    }

    @Test
    void everyUnitIsRunningAfterSayingReady() {
        assertThat(ok("control").output()).as(r.file("journal.out")).contains("ActiveState=active", "SubState=running",
                "NRestarts=0", "StatusText=serving http://127.0.0.1:8080");
        assertThat(ok("latticed").output()).as(r.file("journal.out")).contains("ActiveState=active", "SubState=running",
                "NRestarts=0", "StatusText=local API on /run/lattice/latticed.sock");
        assertThat(ok("derper").output()).as(r.file("journal.out")).contains("ActiveState=active", "SubState=running",
                "NRestarts=0", "StatusText=relaying on");
    }

    @Test
    void theClisReachTheirDaemonsThroughTheUnitsRuntimeDirectories() {
        ok("users-create");
        assertThat(ok("users-list").output()).contains("\"alice\"");
        // Not logged in yet, so `lattice status` exits 1 as tailscale's does; its answer came from the daemon.
        assertThat(r.step("lattice-status").output()).as("latticed's local API at /run/lattice/latticed.sock")
                .isEqualToIgnoringNewLines("Logged out.");
    }

    @Test
    void reloadKeepsTheServerAndStopIsClean() {
        ok("reload");
        assertThat(ok("after-reload").output()).contains("ActiveState=active", "NRestarts=0");
        assertThat(r.file("journal.out")).contains("SIGHUP: no policy file to reload");
        ok("stop");
        String after = ok("after-stop").output();
        assertThat(after).doesNotContain("ActiveState=failed").doesNotContain("Result=exit-code");
        assertThat(after.lines().filter(l -> l.equals("ActiveState=inactive")).count()).isEqualTo(3);
    }
}
