package dev.lattice.agent.testing;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.server.ControlServer;
import dev.lattice.control.store.User;
import dev.lattice.testlab.ControlYaml;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/** An in-process lattice-control on loopback for the agent's tests (lattice-control's own test fixtures are not visible here). */
public final class TestControlServer implements AutoCloseable {
    public final ControlServer server;
    public final User alice;

    private TestControlServer(ControlServer server, User alice) {
        this.server = server;
        this.alice = alice;
    }

    public static ControlConfig config(Path dir, String extraYaml) throws IOException {
        String yaml = ControlYaml.on(dir, ControlYaml.freePort())
                .embeddedDerp(ControlYaml.freePort()).derpIpv4("127.0.0.1").build() + extraYaml;
        return ControlConfig.parse(yaml, dir);
    }

    /** A server with a user "alice" and its embedded DERP relay (plain HTTP, on loopback). */
    public static TestControlServer start(Path dir, String extraYaml) throws Exception {
        ControlServer s = ControlServer.start(config(dir, extraYaml));
        User alice = s.store().users().create("alice", "Alice", "alice@example.com");
        s.tailnet().reload();
        return new TestControlServer(s, alice);
    }

    public String url() {
        return server.config().serverUrl().toString();
    }

    public String preAuthKey() {
        return server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(3600)).fullKey();
    }

    @Override
    public void close() {
        server.close();
    }
}
