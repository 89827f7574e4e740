package dev.lattice.control.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.lattice.control.config.ControlConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * The control server's database: schema migrations (Flyway), connection handling, and the tables as
 * {@link #users()}, {@link #nodes()}, {@link #preAuthKeys()}, {@link #apiKeys()}, {@link #policy()}.
 *
 * <p>Every write is one transaction. Times are stored as epoch milliseconds, so the records handed back carry
 * millisecond precision.
 *
 * <p><b>SQLite</b>: WAL journal (readers never block the writer), {@code busy_timeout} 5 s, foreign keys on, and
 * {@code synchronous=FULL}: in WAL mode {@code NORMAL} already survives a killed process but can lose the last
 * commits on power loss; control-plane writes are rare (registrations, key rotations), so the fsync per commit
 * is cheap insurance that an acknowledged registration is never forgotten. All writes go through ONE connection
 * (a pool of one), which serialises them in-process and avoids {@code SQLITE_BUSY}; write transactions begin
 * {@code IMMEDIATE} against other processes (e.g. an admin CLI). Reads use a small pool of query-only connections.
 * The database file and its companions are 0600 ({@link SqliteFiles}).
 *
 * <p><b>PostgreSQL</b>: one HikariCP pool for both, sized by {@code database.postgres.max_open_conns}, plus one
 * connection of its own per server for the change log's LISTEN. Several servers (replicas) may share the database:
 * they share their keys ({@link #serverKeys()}), each write is appended to {@link #changes()} for the others, and
 * they share which nodes are online ({@link #sessions()}), the interactive registrations waiting
 * ({@link #pendingRegistrations()}) and OIDC logins between the browser's pages ({@link #oidcLogins()}).
 */
public final class Store implements AutoCloseable {
    private static final int SQLITE_READERS = 4;

    private final Jdbi writer;
    private final Jdbi reader;
    private final AutoCloseable[] pools;
    private final Clock clock;
    private final boolean postgres;
    private final LongAdder writeTransactions = new LongAdder();

    private final Users users;
    private final Nodes nodes;
    private final PreAuthKeys preAuthKeys;
    private final ApiKeys apiKeys;
    private final Policies policy;
    private final ServerKeys serverKeys;
    private final ChangeLog changes;
    private final Sessions sessions;
    private final PendingRegistrations pendingRegistrations;
    private final OidcLogins oidcLogins;
    private final Replicas replicas;
    private final SshChecks sshChecks;
    /** Identifies this process in the change log; new at every start. */
    private final String replicaId = java.util.UUID.randomUUID().toString();
    /** Opens a connection outside the pool (PostgreSQL: the change log's LISTEN); null on SQLite. */
    private volatile ConnectionFactory dedicated;

    private Store(Jdbi writer, Jdbi reader, Clock clock, boolean postgres, AutoCloseable... pools) {
        this.writer = writer;
        this.reader = reader;
        this.clock = clock;
        this.postgres = postgres;
        this.pools = pools;
        this.users = new Users(this);
        this.nodes = new Nodes(this);
        this.preAuthKeys = new PreAuthKeys(this);
        this.apiKeys = new ApiKeys(this);
        this.policy = new Policies(this);
        this.serverKeys = new ServerKeys(this);
        this.changes = new ChangeLog(this);
        this.sessions = new Sessions(this);
        this.pendingRegistrations = new PendingRegistrations(this);
        this.oidcLogins = new OidcLogins(this);
        this.replicas = new Replicas(this);
        this.sshChecks = new SshChecks(this);
    }

    /** Opens a database connection of its own (not from the pool). */
    @FunctionalInterface
    public interface ConnectionFactory {
        java.sql.Connection open() throws SQLException;
    }

    /** Opens (creating and migrating as needed) the database the config names. */
    public static Store open(ControlConfig.Database config) {
        return open(config, Clock.systemUTC());
    }

    public static Store open(ControlConfig.Database config, Clock clock) {
        return switch (config.type()) {
            case SQLITE -> openSqlite(config.sqlite(), clock);
            case POSTGRES -> {
                ControlConfig.Postgres pg = config.postgres();
                yield openPostgres(pg.jdbcUrl(), pg.user(), pg.pass(), pg.maxOpenConns(), pg.maxIdleConns(),
                        pg.connMaxIdleTimeSecs(), clock);
            }
        };
    }

    /** A SQLite database at {@code file} with the default settings (WAL, autocheckpoint 1000). */
    public static Store openSqlite(Path file) {
        return openSqlite(new ControlConfig.Sqlite(file, true, 1000), Clock.systemUTC());
    }

    public static Store openSqlite(Path file, Clock clock) {
        return openSqlite(new ControlConfig.Sqlite(file, true, 1000), clock);
    }

    public static Store openSqlite(ControlConfig.Sqlite cfg, Clock clock) {
        Path file = cfg.path().toAbsolutePath();
        try {
            Path dir = file.getParent();
            if (dir != null && !Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            SqliteFiles.prepare(file);
        } catch (IOException e) {
            throw new StoreException("cannot create database " + file + ": " + e.getMessage(), e);
        }
        String url = "jdbc:sqlite:" + file;
        migrate(sqliteSource(url, cfg, false), false);

        HikariConfig w = new HikariConfig();
        w.setPoolName("lattice-sqlite-writer");
        w.setDataSource(sqliteSource(url, cfg, false));
        w.setMaximumPoolSize(1);
        w.setMinimumIdle(1);
        w.setConnectionInitSql("PRAGMA wal_autocheckpoint=" + cfg.walAutocheckpoint());
        HikariConfig r = new HikariConfig();
        r.setPoolName("lattice-sqlite-reader");
        r.setDataSource(sqliteSource(url, cfg, true));
        r.setMaximumPoolSize(SQLITE_READERS);
        r.setMinimumIdle(1);
        r.setConnectionInitSql("PRAGMA query_only=1");
        HikariDataSource wds = new HikariDataSource(w);
        HikariDataSource rds;
        try {
            rds = new HikariDataSource(r);
        } catch (RuntimeException e) {
            wds.close();
            throw e;
        }
        return new Store(Jdbi.create(wds), Jdbi.create(rds), clock, false, rds, wds);
    }

    private static SQLiteDataSource sqliteSource(String url, ControlConfig.Sqlite cfg, boolean readOnly) {
        SQLiteConfig c = new SQLiteConfig();
        c.setJournalMode(cfg.writeAheadLog() ? SQLiteConfig.JournalMode.WAL : SQLiteConfig.JournalMode.DELETE);
        c.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
        c.setBusyTimeout(5000);
        c.enforceForeignKeys(true);
        if (!readOnly) c.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
        SQLiteDataSource ds = new SQLiteDataSource(c);
        ds.setUrl(url);
        return ds;
    }

    /** A PostgreSQL database; {@code user}/{@code password} may be null when the URL carries them. */
    public static Store openPostgres(String jdbcUrl, String user, String password) {
        return openPostgres(jdbcUrl, user, password, 10, 10, 3600, Clock.systemUTC());
    }

    public static Store openPostgres(String jdbcUrl, String user, String password, int maxOpen, int maxIdle,
                                     int maxIdleSecs, Clock clock) {
        HikariConfig h = new HikariConfig();
        h.setPoolName("lattice-postgres");
        h.setJdbcUrl(jdbcUrl);
        if (user != null && !user.isEmpty()) h.setUsername(user);
        if (password != null && !password.isEmpty()) h.setPassword(password);
        h.setMaximumPoolSize(maxOpen);
        h.setMinimumIdle(Math.min(maxIdle, maxOpen));
        if (maxIdleSecs > 0) h.setIdleTimeout(Math.max(10_000L, maxIdleSecs * 1000L));
        HikariDataSource ds;
        try {
            ds = new HikariDataSource(h);
        } catch (RuntimeException e) {
            throw new StoreException("cannot connect to PostgreSQL: " + rootMessage(e), e);
        }
        try {
            migrate(ds, true);
        } catch (RuntimeException e) {
            ds.close();
            throw e;
        }
        Jdbi jdbi = Jdbi.create(ds);
        Store store = new Store(jdbi, jdbi, clock, true, ds);
        java.util.Properties props = new java.util.Properties();
        if (user != null && !user.isEmpty()) props.setProperty("user", user);
        if (password != null && !password.isEmpty()) props.setProperty("password", password);
        store.dedicated = () -> java.sql.DriverManager.getConnection(jdbcUrl, props);
        return store;
    }

    /** Flyway, in a class loader of its own that goes away afterwards (see {@link SchemaMigration}). */
    private static void migrate(javax.sql.DataSource ds, boolean postgres) {
        SchemaMigration.migrate(ds, postgres);
    }

    /**
     * A release that changes the schema must not migrate it under replicas still running the old one: they would
     * keep writing and reading the old shape. Refused while any other replica's heartbeat is younger than the
     * sessions' lapse (20 s), with what to do. Public for {@link FlywayMigration}, which runs in another loader.
     */
    public static void refuseIfOtherReplicasRun(java.sql.Connection c, String schema) throws SQLException {
        try (var st = c.prepareStatement("SELECT id, " + Replicas.DB_NOW + " - heartbeat_at FROM replicas WHERE heartbeat_at > "
                + Replicas.DB_NOW + " - 20000 ORDER BY id"); var rs = st.executeQuery()) {
            List<String> live = new ArrayList<>();
            while (rs.next()) live.add(rs.getString(1) + " (heard from " + (rs.getLong(2) / 1000) + " s ago)");
            if (!live.isEmpty()) {
                throw new StoreException("this release upgrades the database schema (now version " + schema + "), but "
                        + live.size() + " replica(s) on it still run the old one: " + String.join(", ", live)
                        + "; stop every replica, start one of the new release (it upgrades the schema), then the others");
            }
        }
    }

    public Users users() {
        return users;
    }

    public Nodes nodes() {
        return nodes;
    }

    public PreAuthKeys preAuthKeys() {
        return preAuthKeys;
    }

    public ApiKeys apiKeys() {
        return apiKeys;
    }

    public Policies policy() {
        return policy;
    }

    /** The server's own keys, shared by the replicas of a PostgreSQL database. */
    public ServerKeys serverKeys() {
        return serverKeys;
    }

    /** The change log replicas read (written on PostgreSQL only). */
    public ChangeLog changes() {
        return changes;
    }

    /** Which nodes stream to which replica (PostgreSQL only). */
    public Sessions sessions() {
        return sessions;
    }

    /** Interactive registrations waiting for completion, shared by the replicas (PostgreSQL only). */
    public PendingRegistrations pendingRegistrations() {
        return pendingRegistrations;
    }

    /** OIDC logins between the browser's pages, shared by the replicas (PostgreSQL only). */
    public OidcLogins oidcLogins() {
        return oidcLogins;
    }

    /** The replicas' heartbeats and embedded DERP servers (PostgreSQL only). */
    public Replicas replicas() {
        return replicas;
    }

    /** Tailscale SSH checks waiting for a verdict, and when each pair last passed one. */
    public SshChecks sshChecks() {
        return sshChecks;
    }

    /** A connection of its own for long-lived use (the change log's LISTEN); PostgreSQL only. */
    public java.sql.Connection openDedicatedConnection() throws SQLException {
        ConnectionFactory f = dedicated;
        if (f == null) throw new IllegalStateException("dedicated connections are for PostgreSQL");
        return f.open();
    }

    String replicaId() {
        return replicaId;
    }

    public boolean isPostgres() {
        return postgres;
    }

    /**
     * Write transactions begun since the store was opened, committed or not: what the server costs the database
     * (a metric), and how tests show that a refused request wrote nothing.
     */
    public long writeTransactions() {
        return writeTransactions.sum();
    }

    @Override
    public void close() {
        for (AutoCloseable p : pools) {
            try {
                p.close();
            } catch (Exception e) {
                // Closing the other pool still matters.
            }
        }
    }

    // --- shared by the table classes ---

    Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    /** Runs {@code work} in one write transaction; constraint violations become {@link ConflictException}. */
    <T> T write(String what, HandleCallback<T, RuntimeException> work) {
        writeTransactions.increment();
        long start = System.nanoTime();
        try {
            return writer.inTransaction(work);
        } catch (JdbiException e) {
            throw translate(what, e);
        } finally {
            observer.accept("write", System.nanoTime() - start);
        }
    }

    <T> T read(HandleCallback<T, RuntimeException> work) {
        long start = System.nanoTime();
        try {
            return reader.withHandle(work);
        } catch (JdbiException e) {
            throw new StoreException("database read failed: " + rootMessage(e), e);
        } finally {
            observer.accept("read", System.nanoTime() - start);
        }
    }

    /** What is told how long each operation took: its kind (read, write) and nanoseconds. */
    @FunctionalInterface
    public interface Observer {
        void accept(String kind, long nanos);
    }

    private volatile Observer observer = (kind, nanos) -> { };

    public void observe(Observer o) {
        this.observer = o;
    }

    /** Diagnostics: SQLite's integrity check ("ok" when healthy); PostgreSQL has no equivalent and answers "ok". */
    public String integrityCheck() {
        if (postgres) return "ok";
        return writer.withHandle(h -> String.join("\n", h.createQuery("PRAGMA integrity_check").mapTo(String.class).list()));
    }

    private static StoreException translate(String what, JdbiException e) {
        SQLException s = sqlCause(e);
        if (s != null) {
            String state = s.getSQLState();
            String msg = String.valueOf(s.getMessage());
            boolean unique = "23505".equals(state)
                    || s instanceof SQLiteException se && (se.getResultCode() == SQLiteErrorCode.SQLITE_CONSTRAINT_UNIQUE
                            || se.getResultCode() == SQLiteErrorCode.SQLITE_CONSTRAINT_PRIMARYKEY);
            if (unique) {
                String column = conflictingColumn(msg);
                return new ConflictException(what + ": " + (column == null ? "a unique value" : column.replace('_', ' '))
                        + " already in use", e, column);
            }
            boolean foreign = "23503".equals(state)
                    || s instanceof SQLiteException se && se.getResultCode() == SQLiteErrorCode.SQLITE_CONSTRAINT_FOREIGNKEY;
            if (foreign) return new NotFoundException(what + ": a referenced row (user or auth key) does not exist");
        }
        return new StoreException(what + " failed: " + rootMessage(e), e);
    }

    private static String conflictingColumn(String msg) {
        for (String c : new String[] {"machine_key", "node_key", "given_name", "ipv4", "ipv6", "provider_id", "prefix", "name"}) {
            // SQLite names the columns (nodes.machine_key, nodes.user_id), PostgreSQL the constraint.
            if (msg.contains("." + c) || msg.contains("_" + c + "_unique") || msg.contains("_" + c + "_user_unique")) return c;
        }
        return null;
    }

    private static SQLException sqlCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SQLException s) return s;
        }
        return null;
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) c = c.getCause();
        return String.valueOf(c.getMessage());
    }

    // --- column conversions ---

    static Long millis(Instant t) {
        return t == null ? null : t.toEpochMilli();
    }

    static Instant instant(java.sql.ResultSet rs, String col) throws SQLException {
        long v = rs.getLong(col);
        return rs.wasNull() ? null : Instant.ofEpochMilli(v);
    }

    static Long nullableLong(java.sql.ResultSet rs, String col) throws SQLException {
        long v = rs.getLong(col);
        return rs.wasNull() ? null : v;
    }
}
