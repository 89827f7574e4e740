package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
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

    @Test
    void upgradingToOneNodePerMachineAndUserKeepsEveryNodeAndNeverGivesADeletedNodesIdAgain() throws Exception {
        store.close();
        store = null;
        Path file = dir.resolve("old/db.sqlite");
        Files.createDirectories(file.getParent());
        org.sqlite.SQLiteConfig cfg = new org.sqlite.SQLiteConfig();
        cfg.enforceForeignKeys(true);
        org.sqlite.SQLiteDataSource ds = new org.sqlite.SQLiteDataSource(cfg);
        ds.setUrl("jdbc:sqlite:" + file);
        FlywayMigration.configure(ds, false).target("5").load().migrate();
        String mk = MachinePrivateKey.generate().publicKey().toString();
        try (var c = ds.getConnection(); var st = c.createStatement()) {
            st.execute("INSERT INTO users (name, created_at) VALUES ('alice', 0)");
            for (int i = 1; i <= 3; i++) {
                st.execute("INSERT INTO nodes (machine_key, node_key, hostname, given_name, user_id, ipv4, created_at, updated_at)"
                        + " VALUES ('" + (i == 1 ? mk : MachinePrivateKey.generate().publicKey()) + "', '"
                        + NodePrivateKey.generate().publicKey() + "', 'n" + i + "', 'n" + i + "', 1, '100.64.0." + i + "', 0, 0)");
            }
            st.execute("DELETE FROM nodes WHERE id = 3"); // the highest id: a rebuilt table must not hand it out again
        }

        store = Store.openSqlite(file, clock);
        assertThat(store.nodes().list()).extracting(TailnetNode::id, TailnetNode::givenName)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1L, "n1"), org.assertj.core.groups.Tuple.tuple(2L, "n2"));
        long bob = store.users().create("bob", "", "").id();
        TailnetNode bobs = store.nodes().create(TailnetNode.builder().machineKey(dev.lattice.crypto.key.MachinePublicKey.parse(mk))
                .nodeKey(NodePrivateKey.generate().publicKey()).hostname("n1").givenName("n1-1").userId(bob).build());
        assertThat(bobs.id()).as("the deleted node's id is not given again").isEqualTo(4L);
        assertThat(store.nodes().byMachineKey(dev.lattice.crypto.key.MachinePublicKey.parse(mk)))
                .extracting(TailnetNode::id).containsExactly(1L, 4L);
    }
}
