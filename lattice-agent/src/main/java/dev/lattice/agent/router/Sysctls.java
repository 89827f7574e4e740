package dev.lattice.agent.router;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Kernel settings by their path under /proc/sys ({@code net/ipv4/ip_forward}, {@code net/ipv6/conf/eth0.5/disable_ipv6}:
 * slashes, so interface names may hold dots). What {@code sysctl} does, without a process: the router reads and sets
 * a few at start, and the IP forwarding check reads some. The files under {@code /proc/sys/net} are those of the
 * network namespace of the thread that opens them.
 */
public interface Sysctls {
    /** A key's value, stripped, or null when the kernel has no such key. */
    String get(String path) throws IOException;

    /** Sets a key; fails when the kernel has no such key or refuses the value. */
    void set(String path, String value) throws IOException;

    /** The host's, in /proc/sys. */
    Sysctls PROC_SYS = under(Path.of("/proc/sys"));

    /** Those in the files under {@code root} (tests give a directory of their own). */
    static Sysctls under(Path root) {
        return new Sysctls() {
            @Override
            public String get(String path) throws IOException {
                try {
                    return Files.readString(file(root, path), StandardCharsets.US_ASCII).strip();
                } catch (NoSuchFileException e) {
                    return null;
                }
            }

            @Override
            public void set(String path, String value) throws IOException {
                // No CREATE: a key the kernel does not have is an error, as sysctl -w says, not a new file.
                Files.writeString(file(root, path), value + "\n", StandardCharsets.US_ASCII, StandardOpenOption.WRITE);
            }
        };
    }

    /** {@code root/path}, for a relative path that stays under it. */
    private static Path file(Path root, String path) {
        if (path.isEmpty() || path.startsWith("/") || List.of(path.split("/")).contains("..")) {
            throw new IllegalArgumentException("bad sysctl path " + path);
        }
        return root.resolve(path);
    }
}
