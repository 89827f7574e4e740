package dev.lattice.control.server;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lattice.control.config.ControlConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Test fixture: a database of its own on the throwaway PostgreSQL cluster CI starts ({@code LATTICE_TEST_POSTGRES_URL},
 * see {@code .ci/run}; tests are skipped without it), and configs for several replicas on it, each with its own
 * directory, ports and admin socket. {@link #close()} drops the database. Public for lattice-interop's PostgresLab,
 * which reaches the same database from lab hosts.
 */
public final class PostgresReplicas implements AutoCloseable {
    private static final String URL = System.getenv("LATTICE_TEST_POSTGRES_URL");
    public final String database = "lt_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);

    private PostgresReplicas() {}

    /** A fresh database, or the test is skipped when no PostgreSQL is configured. */
    static PostgresReplicas create() {
        return create("PostgreSQL replica tests skipped");
    }

    /** A fresh database, or the test is skipped (saying {@code skipped}) when no PostgreSQL is configured. */
    public static PostgresReplicas create(String skipped) {
        assumeTrue(URL != null && !URL.isBlank(), "LATTICE_TEST_POSTGRES_URL is not set; " + skipped);
        PostgresReplicas p = new PostgresReplicas();
        p.exec("CREATE DATABASE " + p.database);
        return p;
    }

    /** Where the cluster listens. */
    public InetSocketAddress cluster() {
        URI u = URI.create(URL.substring("jdbc:".length()));
        return InetSocketAddress.createUnresolved(u.getHost(), u.getPort());
    }

    public String user() {
        return query().get("user");
    }

    public String password() {
        return query().get("password");
    }

    /** A replica's config: TestServer's (embedded DERP on) with the database section pointing here. */
    ControlConfig config(Path dir) throws IOException {
        return config(dir, "");
    }

    ControlConfig config(Path dir, String extraYaml) throws IOException {
        Files.createDirectories(dir);
        String sqlite = "database:\n  type: sqlite\n  sqlite:\n    path: " + dir + "/db.sqlite\n";
        String yaml = TestServer.yaml(dir, TestServer.freePort(), true);
        if (!yaml.contains(sqlite)) throw new IllegalStateException("TestServer's database section changed:\n" + yaml);
        InetSocketAddress c = cluster();
        String pg = "database:\n  type: postgres\n  postgres:\n    host: " + c.getHostString() + "\n    port: " + c.getPort()
                + "\n    name: " + database + "\n    user: " + user() + "\n    pass: \"" + password()
                + "\"\n    max_open_conns: 4\n    max_idle_conns: 1\n";
        return ControlConfig.parse(yaml.replace(sqlite, pg) + extraYaml, dir);
    }

    /** Runs SQL in this database (e.g. to look at the change log). */
    void sql(String sql) {
        execIn(database, sql);
    }

    private static Map<String, String> query() {
        Map<String, String> m = new HashMap<>();
        int q = URL.indexOf('?');
        if (q < 0) return m;
        for (String kv : URL.substring(q + 1).split("&")) {
            int e = kv.indexOf('=');
            if (e > 0) m.put(kv.substring(0, e), kv.substring(e + 1));
        }
        return m;
    }

    private void exec(String sql) {
        try (Connection c = DriverManager.getConnection(URL); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    private void execIn(String db, String sql) {
        String url = URL.replaceFirst("/[^/?]*(\\?|$)", "/" + db + "$1");
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        exec("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
    }
}
