package dev.lattice.control.server;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.store.User;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test fixture for the protocol tests of policy features: a server without embedded DERP whose policy lives in the
 * database and is set to {@code policy}, user alice, a reusable pre-auth key of hers, and test machines on an event
 * loop of the fixture's own. Close it after the test.
 */
final class PolicyTailnet implements AutoCloseable {
    private final ControlServer server;
    private final String aliceKey;
    private EventLoopGroup group; // made by the first machine

    private PolicyTailnet(ControlServer server, String aliceKey) {
        this.server = server;
        this.aliceKey = aliceKey;
    }

    ControlServer server() {
        return server;
    }

    String aliceKey() {
        return aliceKey;
    }

    /** A machine (not yet registered) talking to this server; close it, or it closes with the fixture's event loop. */
    synchronized TestMachine machine(String hostname) throws Exception {
        if (group == null) group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        return new TestMachine(group, url(), hostname);
    }
    /** {@code extraYaml} is appended after {@code policy: {mode: database}} (e.g. a {@code funnel:} section). */
    static PolicyTailnet start(Path dir, String policy, String extraYaml) throws Exception {
        ControlServer server = ControlServer.start(ControlConfig.parse(TestServer.yaml(dir, TestServer.freePort(), false)
                + "policy:\n  mode: database\n" + extraYaml, dir));
        try {
            User alice = server.store().users().create("alice", "Alice", "alice@example.com");
            server.tailnet().announceFull();
            server.adminApi().setPolicy(policy);
            String key = server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(600))
                    .fullKey();
            return new PolicyTailnet(server, key);
        } catch (Exception | Error e) {
            server.close();
            throw e;
        }
    }

    static PolicyTailnet start(Path dir, String policy) throws Exception {
        return start(dir, policy, "");
    }

    URI url() {
        return server.config().serverUrl();
    }

    @Override
    public synchronized void close() {
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        server.close();
    }
}
