package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on SQLite, plus SQLite's own settings. */
class SqliteStoreTest extends StoreContract {
    @TempDir
    Path dir;

    @Override
    Store open(MutableClock clock) {
        return Store.openSqlite(dir.resolve("data/db.sqlite"), clock);
    }

    @Override
    Store reopen(MutableClock clock) {
        return open(clock);
    }

    @Test
    void createsItsDirectoryAndUsesWal() {
        assertThat(Files.isDirectory(dir.resolve("data"))).isTrue();
        store.users().create("alice", "", "");
        assertThat(Files.exists(dir.resolve("data/db.sqlite-wal"))).isTrue();
        assertThat(store.isPostgres()).isFalse();
    }
}
