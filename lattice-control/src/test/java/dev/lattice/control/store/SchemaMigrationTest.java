package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SchemaMigrationTest {
    @Test
    void flywayRunsInALoaderNothingKeeps(@TempDir Path dir) throws Exception {
        try (Store store = Store.openSqlite(dir.resolve("db.sqlite"))) {
            assertThat(store.users().list()).isEmpty(); // migrated: the tables are there
        }
        ClassLoader seen = SchemaMigration.lastLoader.get();
        assertThat(seen).as("the migration ran in its own loader").isNotNull()
                .isNotSameAs(SchemaMigrationTest.class.getClassLoader());
        assertThat(seen.loadClass("org.flywaydb.core.Flyway").getClassLoader()).isSameAs(seen);
        seen = null;
        // Unreachable once done, so its classes can be unloaded: nothing (a thread local, a registry) holds on to it.
        long until = System.nanoTime() + 10_000_000_000L;
        while (SchemaMigration.lastLoader.get() != null && System.nanoTime() < until) {
            System.gc();
            Thread.sleep(50);
        }
        assertThat(SchemaMigration.lastLoader.get()).isNull();
    }

    @Test
    void aResourceRootIsItsJarOrDirectory() throws Exception {
        assertThat(SchemaMigration.root(URI.create("jar:file:/usr/lib/lattice/lattice.jar!/org/flywaydb/core/Flyway.class").toURL(),
                "org/flywaydb/core/Flyway.class")).isEqualTo(URI.create("file:/usr/lib/lattice/lattice.jar").toURL());
        assertThat(SchemaMigration.root(URI.create("file:/src/target/classes/db/migration/common/").toURL(), "db/migration/common/"))
                .isEqualTo(URI.create("file:/src/target/classes/").toURL());
        assertThat(SchemaMigration.root(URI.create("file:/src/target/classes/db/migration/common").toURL(), "db/migration/common/"))
                .isEqualTo(URI.create("file:/src/target/classes/").toURL());
        assertThatThrownBy(() -> SchemaMigration.root(null, "x/y")).isInstanceOf(StoreException.class).hasMessageContaining("x/y");
    }
}
