package dev.lattice.agent.cli;

import dev.lattice.agent.localapi.FakeBackend;
import dev.lattice.agent.localapi.LocalApiServer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Test fixture: a {@link FakeBackend} behind a real local API socket ({@code latticed.sock} in a test's directory),
 * and {@code lattice} command lines run against it. {@link #close()} stops the server.
 */
final class FakeDaemon implements AutoCloseable {
    final FakeBackend backend = new FakeBackend();
    final LocalApiServer server;

    FakeDaemon(Path dir) throws IOException {
        this(dir, LocalApiServer.Options.defaults());
    }

    FakeDaemon(Path dir, LocalApiServer.Options options) throws IOException {
        server = LocalApiServer.start(dir.resolve("latticed.sock"), backend, options);
    }

    /** {@code lattice --socket=SOCKET args...} with a default {@link LatticeCli}. */
    LatticeCli.Result run(String... args) {
        return run(new LatticeCli(), args);
    }

    /** {@code lattice --socket=SOCKET args...} through {@code cli}. */
    LatticeCli.Result run(LatticeCli cli, String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "--socket=" + server.path();
        System.arraycopy(args, 0, all, 1, args.length);
        return LatticeCli.capture(cli, all);
    }

    @Override
    public void close() {
        server.close();
    }
}
