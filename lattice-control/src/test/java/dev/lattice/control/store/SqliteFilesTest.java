package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The SQLite database holds node keys and key hashes: it and its -wal/-shm companions are 0600, whether the
 * database is new (in a directory that already exists, so the process umask would decide) or was left 0644 by
 * an older version (tightened at start, with a warning).
 */
class SqliteFilesTest {
    @TempDir
    Path dir;

    final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    Logger logger;

    @BeforeEach
    void capture() {
        logger = (Logger) LoggerFactory.getLogger(SqliteFiles.class);
        logger.addAppender(logged);
        logged.start();
    }

    @AfterEach
    void release() {
        logger.detachAppender(logged);
    }

    static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    static Path companion(Path db, String suffix) {
        return db.resolveSibling(db.getFileName() + suffix);
    }

    @Test
    void aNewDatabaseInAnExistingDirectoryAndItsCompanionsAreOwnerOnly() throws Exception {
        Path db = dir.resolve("db.sqlite");
        try (Store store = Store.openSqlite(db)) {
            store.users().create("alice", "", "");
            for (Path p : List.of(db, companion(db, "-wal"), companion(db, "-shm"))) {
                assertThat(p).as("present after a write").exists();
                assertThat(mode(p)).as(p.getFileName().toString()).isEqualTo("rw-------");
            }
        }
        assertThat(logged.list).as("nothing needed tightening").isEmpty();
    }

    @Test
    void aNewRollbackJournalDatabaseIsOwnerOnly() throws Exception {
        Path db = dir.resolve("db.sqlite");
        try (Store store = Store.openSqlite(new dev.lattice.control.config.ControlConfig.Sqlite(db, false, 1000), Clock.systemUTC())) {
            store.users().create("alice", "", "");
            assertThat(mode(db)).isEqualTo("rw-------");
        }
    }

    @Test
    void anExisting0644DatabaseAndItsCompanionsAreTightenedAtStartWithAWarning() throws Exception {
        Path db = dir.resolve("db.sqlite");
        try (Store store = Store.openSqlite(db)) {
            store.users().create("alice", "", "");
        }
        Files.setPosixFilePermissions(db, PosixFilePermissions.fromString("rw-r--r--"));
        // Another connection (as an older server or a CLI would have) keeps the WAL and shared-memory files.
        try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = other.createStatement()) {
            st.execute("PRAGMA journal_mode=WAL");
            st.executeQuery("SELECT COUNT(*) FROM users").close();
            for (String suffix : List.of("-wal", "-shm")) {
                Path c = companion(db, suffix);
                assertThat(c).exists();
                Files.setPosixFilePermissions(c, PosixFilePermissions.fromString("rw-r--r--"));
            }

            try (Store store = Store.openSqlite(db)) {
                for (Path p : List.of(db, companion(db, "-wal"), companion(db, "-shm"))) {
                    assertThat(mode(p)).as(p.getFileName().toString()).isEqualTo("rw-------");
                }
                store.users().create("bob", "", "");
                assertThat(store.users().byName("alice")).as("the data is untouched").isPresent();
                for (Path p : List.of(db, companion(db, "-wal"), companion(db, "-shm"))) {
                    assertThat(mode(p)).as(p.getFileName() + " after a write").isEqualTo("rw-------");
                }
            }
        }
        assertThat(logged.list).hasSize(3).allSatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.WARN);
            assertThat(e.getFormattedMessage()).contains("was rw-r--r--; tightened to rw-------");
        });
        assertThat(logged.list).extracting(ILoggingEvent::getFormattedMessage)
                .anySatisfy(m -> assertThat(m).contains(db + " was"))
                .anySatisfy(m -> assertThat(m).contains(db + "-wal was"))
                .anySatisfy(m -> assertThat(m).contains(db + "-shm was"));
    }
}
