package dev.lattice.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hints name a command as the operator can type it: bare on PATH, else the launcher's absolute path. */
class LaunchersTest {
    @TempDir
    Path dir;

    Path executable(String sub, String name) throws Exception {
        Path d = Files.createDirectories(dir.resolve(sub));
        Path f = Files.writeString(d.resolve(name), "#!/bin/sh\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        return f;
    }

    @Test
    void bareOnThePathElseTheLauncherNextToOursElseBare() throws Exception {
        Path installed = executable("usr-bin", "latticed").getParent();
        Path checkout = executable("checkout/bin", "latticed").getParent();
        executable("checkout/bin", "lattice");

        assertThat(new Launchers(Map.of("PATH", "/nonexistent:" + installed, "LATTICE_LAUNCHER_DIR", checkout.toString()))
                .command("latticed")).isEqualTo("latticed");
        assertThat(new Launchers(Map.of("PATH", "/nonexistent", "LATTICE_LAUNCHER_DIR", checkout.toString()))
                .command("latticed")).isEqualTo(checkout.resolve("latticed").toString());
        assertThat(new Launchers(Map.of("PATH", "/nonexistent", "LATTICE_LAUNCHER_DIR", checkout.toString()))
                .command("lattice-wg")).as("not there either").isEqualTo("lattice-wg");
        assertThat(new Launchers(Map.of()).command("latticed")).isEqualTo("latticed");
    }
}
