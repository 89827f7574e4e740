package dev.lattice.control.interop;

import dev.lattice.control.server.PostgresReplicas;
import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.Host;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A database of its own on CI's throwaway PostgreSQL ({@code LATTICE_TEST_POSTGRES_URL}; the test is skipped without
 * it), reachable from lab hosts. The cluster listens on the root namespace's loopback, which a namespace cannot
 * reach; so this process accepts on a unix socket (the file system is shared by all namespaces) and connects to the
 * cluster, and in each lab host a small forwarder listens on {@code 127.0.0.1:5432} and connects to that socket.
 * {@link #close()} stops the bridge and drops the database.
 */
public final class PostgresLab implements AutoCloseable {
    public static final int PORT = 5432;
    private static final String FORWARDER = """
            import socket, sys, threading
            srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(128)
            def pipe(a, b):
                try:
                    while True:
                        d = a.recv(65536)
                        if not d: break
                        b.sendall(d)
                except OSError: pass
                for s in (a, b):
                    try: s.shutdown(socket.SHUT_RDWR)
                    except OSError: pass
            print("forwarding", flush=True)
            while True:
                c, _ = srv.accept()
                u = socket.socket(socket.AF_UNIX); u.connect(sys.argv[2])
                threading.Thread(target=pipe, args=(c, u), daemon=True).start()
                threading.Thread(target=pipe, args=(u, c), daemon=True).start()
            """;

    public final String database;
    private final PostgresReplicas db;
    private final InetSocketAddress cluster;
    private final Path dir;
    private final Path socket;
    private final ServerSocketChannel bridge;
    private volatile boolean closed;

    private PostgresLab(PostgresReplicas db) throws IOException {
        this.db = db;
        this.database = db.database;
        this.cluster = new InetSocketAddress(db.cluster().getHostString(), db.cluster().getPort());
        // Short: a unix socket path has at most 107 bytes.
        this.dir = Files.createTempDirectory("ltpg");
        this.socket = dir.resolve("pg.sock");
        this.bridge = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(socket));
        Files.writeString(dir.resolve("forward.py"), FORWARDER);
        Thread.ofPlatform().name("pg-bridge").daemon().start(this::accept);
    }

    /** A fresh database and the bridge, or the test is skipped when no PostgreSQL is configured. */
    public static PostgresLab create() throws IOException {
        PostgresReplicas db = PostgresReplicas.create(
                "a throwaway PostgreSQL (.ci/run starts one) is needed: replicas-on-PostgreSQL lab test skipped");
        try {
            return new PostgresLab(db);
        } catch (IOException | RuntimeException e) {
            db.close();
            throw e;
        }
    }

    /** Starts the forwarder in {@code h}: the database is then at 127.0.0.1:{@link #PORT} there. */
    public BackgroundProcess forwardIn(Host h) {
        BackgroundProcess p = h.spawn("pg-forward", Map.of(), List.of("python3", "-u", dir.resolve("forward.py").toString(),
                Integer.toString(PORT), socket.toString()));
        if (!p.waitForOutput("forwarding", java.time.Duration.ofSeconds(10))) {
            throw new AssertionError("PostgreSQL forwarder in " + h.name() + " did not start:\n" + p.tail(20));
        }
        return p;
    }

    /** The {@code database} section of a lattice-control config for a host with the forwarder. */
    public String databaseYaml() {
        return "database:\n  type: postgres\n  postgres:\n    host: 127.0.0.1\n    port: " + PORT + "\n    name: " + database
                + "\n    user: " + db.user() + "\n    pass: \"" + db.password() + "\"\n"
                + "    max_open_conns: 8\n    max_idle_conns: 2\n";
    }

    private void accept() {
        while (!closed) {
            try {
                SocketChannel in = bridge.accept();
                SocketChannel out;
                try {
                    out = SocketChannel.open(cluster);
                } catch (IOException e) {
                    in.close();
                    continue;
                }
                Thread.ofVirtual().start(() -> pipe(in, out));
                Thread.ofVirtual().start(() -> pipe(out, in));
            } catch (IOException e) {
                if (!closed) System.err.println("[pg-bridge] " + e);
                return;
            }
        }
    }

    private static void pipe(SocketChannel from, SocketChannel to) {
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        try {
            while (from.read(b) >= 0) {
                b.flip();
                while (b.hasRemaining()) to.write(b);
                b.clear();
            }
        } catch (IOException e) {
            // the other side went: close both
        }
        try {
            from.close();
            to.close();
        } catch (IOException e) {
            // closing
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            bridge.close();
        } catch (IOException e) {
            // closing
        }
        try {
            db.close();
        } finally {
            try {
                Files.deleteIfExists(socket);
                Files.deleteIfExists(dir.resolve("forward.py"));
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                // a temp directory left behind
            }
        }
    }
}
