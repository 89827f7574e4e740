package dev.lattice.agent.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code up --authkey}'s value: a key, or {@code file:PATH}. The file is read by the {@code lattice} process, with the
 * user's own permissions, never by latticed (which runs as root and would read any file for any caller).
 */
final class AuthKeyArg {
    static final String FILE_PREFIX = "file:";

    private AuthKeyArg() {}

    static boolean isFile(String v) {
        return v != null && v.startsWith(FILE_PREFIX);
    }

    /** The key {@code v} names: null for none, the file's stripped content for {@code file:PATH}, else {@code v}. */
    static String resolve(String v) throws CliException {
        if (v == null || v.isEmpty()) return null;
        if (!isFile(v)) return v;
        Path p = Path.of(v.substring(FILE_PREFIX.length()));
        try {
            String s = Files.readString(p).strip();
            if (s.isEmpty()) throw new CliException("authkey file " + p + " is empty");
            return s;
        } catch (IOException e) {
            throw new CliException("reading authkey from file: " + e.getMessage());
        }
    }
}
