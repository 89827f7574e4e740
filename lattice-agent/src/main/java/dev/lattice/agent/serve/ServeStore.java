package dev.lattice.agent.serve;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

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
        Files.deleteIfExists(stateDir.resolve(FILE + ".tmp"));
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
            Files.deleteIfExists(file);
        } else {
            Path tmp = dir.resolve(FILE + ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                ByteBuffer b = ByteBuffer.wrap(c.toJson());
                while (b.hasRemaining()) ch.write(b);
                ch.force(true);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
        config = c;
    }
}
