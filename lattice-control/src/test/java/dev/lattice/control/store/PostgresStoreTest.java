package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The store contract on PostgreSQL. Runs when {@code LATTICE_TEST_POSTGRES_URL} holds a JDBC URL with user and
 * password (CI starts a throwaway cluster, see {@code .ci/run}); skipped with a message otherwise. Each test gets
 * its own schema, dropped afterwards.
 */
class PostgresStoreTest extends StoreContract {
    private static final String URL = System.getenv("LATTICE_TEST_POSTGRES_URL");
    private String schema;

    @BeforeEach
    @Override
    void openStore() {
        assumeTrue(URL != null && !URL.isBlank(), "LATTICE_TEST_POSTGRES_URL is not set; PostgreSQL store tests skipped");
        schema = "lt_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        exec("CREATE SCHEMA " + schema);
        super.openStore();
    }

    @AfterEach
    @Override
    void closeStore() {
        super.closeStore();
        if (schema != null) exec("DROP SCHEMA " + schema + " CASCADE");
    }

    private String schemaUrl() {
        return URL + (URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    @Override
    Store open(MutableClock clock) {
        return Store.openPostgres(schemaUrl(), null, null, 4, 2, 60, clock);
    }

    @Override
    Store reopen(MutableClock clock) {
        return open(clock);
    }

    @Test
    void aSchemaUpgradeWaitsUntilNoOtherReplicaRuns() throws SQLException {
        store.replicas().beat(null);
        try (Connection c = DriverManager.getConnection(schemaUrl())) {
            assertThatThrownBy(() -> Store.refuseIfOtherReplicasRun(c, "4")).isInstanceOf(StoreException.class)
                    .hasMessageContaining("1 replica(s) on it still run the old one: " + store.replicas().replicaId())
                    .hasMessageContaining("stop every replica");

            store.replicas().leave();
            Store.refuseIfOtherReplicasRun(c, "4");
        }
    }

    private static void exec(String sql) {
        try (Connection c = DriverManager.getConnection(URL); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }
}
