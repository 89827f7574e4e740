package dev.lattice.control.server;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.store.User;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * Test fixture for the protocol tests of policy features: a server without embedded DERP whose policy lives in the
 * database and is set to {@code policy}, user alice, and a reusable pre-auth key of hers. Close it after the test.
 */
record PolicyTailnet(ControlServer server, User alice, String aliceKey) implements AutoCloseable {
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
            return new PolicyTailnet(server, alice, key);
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
    public void close() {
        server.close();
    }
}
