package dev.lattice.control.store.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * A machine may hold one node per user, as in Headscale: a second person logging in on the same device (Tailscale's
 * fast user switching) gets a node of their own instead of taking the first person's. The unique machine key becomes
 * unique (machine key, user); tagged nodes have no user, so their uniqueness per machine is Registrations' to keep.
 * In Java because the two engines drop a constraint differently: PostgreSQL alters the table, SQLite (which cannot
 * drop a constraint) rebuilds it, keeping its id sequence so that ids of deleted nodes are never given again.
 */
// The name is Flyway's: it reads the version and description from it.
public class V6__One_node_per_machine_and_user extends BaseJavaMigration {
    @Override
    public void migrate(Context context) throws SQLException {
        Connection c = context.getConnection();
        boolean postgres = c.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT).contains("postgres");
        try (Statement st = c.createStatement()) {
            if (postgres) {
                st.execute("ALTER TABLE nodes DROP CONSTRAINT nodes_machine_key_unique");
                st.execute("ALTER TABLE nodes ADD CONSTRAINT nodes_machine_key_user_unique UNIQUE (machine_key, user_id)");
                return;
            }
            Long seq = null;
            try (var rs = st.executeQuery("SELECT seq FROM sqlite_sequence WHERE name = 'nodes'")) {
                if (rs.next()) seq = rs.getLong(1);
            }
            st.execute("""
                    CREATE TABLE nodes_v6 (
                        id              INTEGER PRIMARY KEY AUTOINCREMENT,
                        machine_key     TEXT    NOT NULL,
                        node_key        TEXT    NOT NULL,
                        disco_key       TEXT,
                        hostname        TEXT    NOT NULL,
                        given_name      TEXT    NOT NULL,
                        user_id         BIGINT  REFERENCES users (id),
                        ipv4            TEXT,
                        ipv6            TEXT,
                        hostinfo        TEXT,
                        endpoints       TEXT    NOT NULL DEFAULT '[]',
                        tags            TEXT    NOT NULL DEFAULT '[]',
                        approved_routes TEXT    NOT NULL DEFAULT '[]',
                        auth_key_id     BIGINT  REFERENCES pre_auth_keys (id) ON DELETE SET NULL,
                        ephemeral       INTEGER NOT NULL DEFAULT FALSE,
                        expiry          BIGINT,
                        last_seen       BIGINT,
                        register_method TEXT    NOT NULL DEFAULT '',
                        created_at      BIGINT  NOT NULL,
                        updated_at      BIGINT  NOT NULL,
                        CONSTRAINT nodes_machine_key_user_unique UNIQUE (machine_key, user_id),
                        CONSTRAINT nodes_node_key_unique UNIQUE (node_key),
                        CONSTRAINT nodes_given_name_unique UNIQUE (given_name),
                        CONSTRAINT nodes_ipv4_unique UNIQUE (ipv4),
                        CONSTRAINT nodes_ipv6_unique UNIQUE (ipv6)
                    )""");
            String columns = "id, machine_key, node_key, disco_key, hostname, given_name, user_id, ipv4, ipv6, hostinfo,"
                    + " endpoints, tags, approved_routes, auth_key_id, ephemeral, expiry, last_seen, register_method,"
                    + " created_at, updated_at";
            st.execute("INSERT INTO nodes_v6 (" + columns + ") SELECT " + columns + " FROM nodes");
            st.execute("DROP TABLE nodes");
            st.execute("ALTER TABLE nodes_v6 RENAME TO nodes");
            st.execute("CREATE INDEX nodes_user_id ON nodes (user_id)");
            st.execute("CREATE INDEX nodes_auth_key_id ON nodes (auth_key_id)");
            if (seq != null) {
                try (var ps = c.prepareStatement("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'nodes'")) {
                    ps.setLong(1, seq);
                    ps.executeUpdate();
                }
            }
        }
    }
}
