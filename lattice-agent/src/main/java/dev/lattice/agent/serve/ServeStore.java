package dev.lattice.agent.serve;

import dev.lattice.agent.state.AtomicFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The serve config on disk, {@code <statedir>/serve.json}: written to a 0600 temp file, fsynced, renamed over the
 * old one and the directory fsynced, so a crash leaves the old config or the new one, whole. An empty config
 * removes the file. Thread-safe.
 */
public final class ServeStore {
    public static final String FILE = "serve.json";
    private static final long MAX_SIZE = 1 << 20;

    private final Path dir;
    private final Path file;
    private ServeConfig config;

    private ServeStore(Path dir, ServeConfig config) {
        this.dir = dir;
        this.file = dir.resolve(FILE);
        this.config = config;
    }

    /**
     * Reads the stored config (none: empty). A file that does not parse or validate is an error, not an empty
     * config: latticed must not quietly stop serving what the user configured.
     */
    public static ServeStore open(Path stateDir) throws IOException {
        Path f = stateDir.resolve(FILE);
        AtomicFile.removeLeftovers(f);
        ServeConfig c;
        try {
            if (Files.size(f) > MAX_SIZE) throw new IOException(f + " is larger than " + MAX_SIZE + " bytes");
            c = ServeConfig.parse(Files.readAllBytes(f));
            ServeValidation.validate(c);
        } catch (NoSuchFileException e) {
            c = ServeConfig.EMPTY;
        } catch (IllegalArgumentException e) {
            throw new IOException(f + ": " + e.getMessage());
        }
        return new ServeStore(stateDir, c);
    }

    public synchronized ServeConfig get() {
        return config;
    }

    /** Saves {@code c} durably, then makes it current. */
    public synchronized void set(ServeConfig c) throws IOException {
        if (c.isEmpty()) {
            AtomicFile.delete(file);
        } else {
            AtomicFile.write(file, c.toJson(), AtomicFile.OWNER_RW);
        }
        config = c;
    }
}
