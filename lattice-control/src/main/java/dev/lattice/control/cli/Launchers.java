package dev.lattice.control.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * How to name Lattice's commands in printed hints: the bare name when it is on {@code PATH} (an installed
 * package), else the absolute path of the launcher next to the one that started us ({@code LATTICE_LAUNCHER_DIR},
 * set by {@code bin/lattice-launch}, e.g. a checkout), else the bare name.
 */
record Launchers(Map<String, String> env) {
    static Launchers fromEnvironment() {
        return new Launchers(System.getenv());
    }

    String command(String name) {
        String path = env.getOrDefault("PATH", "");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) return name;
        }
        String launchers = env.get("LATTICE_LAUNCHER_DIR");
        if (launchers != null && !launchers.isEmpty()) {
            Path p = Path.of(launchers, name).toAbsolutePath().normalize();
            if (Files.isExecutable(p)) return p.toString();
        }
        return name;
    }
}
