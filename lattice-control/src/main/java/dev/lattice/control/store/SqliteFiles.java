package dev.lattice.control.store;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a SQLite database and its companions ({@code -wal}, {@code -shm}, {@code -journal}) readable by the owner
 * only: the database holds node keys, key hashes and the policy. SQLite creates a file with the process umask
 * (usually 0644) and gives each companion the mode of the main file, so creating the main file 0600 before the
 * driver opens it covers the companions it creates later; files left by an older run are tightened at start.
 */
final class SqliteFiles {
    private static final Logger log = LoggerFactory.getLogger(SqliteFiles.class);
    static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    static final List<String> COMPANIONS = List.of("-wal", "-shm", "-journal");

    private SqliteFiles() {}

    /** Creates {@code db} empty and 0600 if missing (SQLite takes an empty file as a new database), then tightens all. */
    static void prepare(Path db) throws IOException {
        if (!Files.exists(db)) {
            try {
                Files.createFile(db, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            } catch (FileAlreadyExistsException e) {
                // created meanwhile (another process): tightened below like any existing file
            } catch (UnsupportedOperationException e) {
                return; // not a POSIX file system: modes do not apply
            }
        }
        tighten(db);
        for (String suffix : COMPANIONS) {
            Path companion = db.resolveSibling(db.getFileName() + suffix);
            if (Files.exists(companion)) tighten(companion);
        }
    }

    /** Makes {@code file} 0600, warning when it was anything else. */
    private static void tighten(Path file) throws IOException {
        Set<PosixFilePermission> have;
        try {
            have = Files.getPosixFilePermissions(file);
        } catch (UnsupportedOperationException e) {
            return;
        }
        Set<PosixFilePermission> want = OWNER_ONLY;
        if (want.equals(have)) return;
        try {
            Files.setPosixFilePermissions(file, want);
        } catch (IOException e) {
            // Not ours to change (another owner): say so, but the database may still be usable.
            log.warn("database file {} is {} and could not be made {}: {}", file, PosixFilePermissions.toString(have),
                    PosixFilePermissions.toString(want), e.toString());
            return;
        }
        log.warn("database file {} was {}; tightened to {} (it holds node keys and key hashes)", file,
                PosixFilePermissions.toString(have), PosixFilePermissions.toString(want));
    }
}
