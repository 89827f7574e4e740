package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.admin.AdminApi;
import dev.lattice.control.store.User;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test fixture: replicas A and B of the control server on a PostgreSQL database of their own ({@link PostgresReplicas};
 * the test is skipped without one), an event loop for the test machines that talk to them, and the further replicas
 * and machines a test starts. {@link #close()} closes the machines, the event loop and the replicas, then drops the
 * database.
 */
final class ReplicaPair implements AutoCloseable {
    final PostgresReplicas pg;
    ControlServer a;
    ControlServer b;
    EventLoopGroup group;
    private final Path dir;
    private final String extraYaml;
    private final List<ControlServer> replicas = new ArrayList<>();
    private final List<TestMachine> machines = new ArrayList<>();

    private ReplicaPair(Path dir, String extraYaml) {
        this.pg = PostgresReplicas.create();
        this.dir = dir;
        this.extraYaml = extraYaml;
    }

    /** Replicas "a" and "b" under {@code dir}, each config with {@code extraYaml} appended. */
    static ReplicaPair start(Path dir, String extraYaml) throws Exception {
        ReplicaPair p = new ReplicaPair(dir, extraYaml);
        try {
            p.a = p.replica("a");
            p.b = p.replica("b");
            p.group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
            return p;
        } catch (Exception | Error e) {
            p.close();
            throw e;
        }
    }

    static ReplicaPair start(Path dir) throws Exception {
        return start(dir, "");
    }

    /** One more replica on the database, in {@code dir/name}; closed with the pair. */
    ControlServer replica(String name) throws Exception {
        ControlServer s = ControlServer.start(pg.config(dir.resolve(name), extraYaml));
        replicas.add(s);
        return s;
    }

    /** Closes {@code m} with the pair. */
    TestMachine track(TestMachine m) {
        machines.add(m);
        return m;
    }

    /** A new machine talking to {@code on}, not registered yet. */
    TestMachine machine(ControlServer on, String name) throws Exception {
        return track(new TestMachine(group, on.config().serverUrl(), name));
    }

    /** A new machine registered on {@code on} with the auth key {@code key}. */
    TestMachine register(ControlServer on, String name, String key) throws Exception {
        TestMachine m = machine(on, name);
        assertThat(m.register(key).machineAuthorized()).isTrue();
        return m;
    }

    /** User alice, created through A. */
    User alice() throws Exception {
        return a.adminApi().createUser(new AdminApi.NewUser("alice", "Alice", "alice@example.com"));
    }

    /** A reusable pre-auth key of {@code user}'s, valid for an hour. */
    String authKey(User user) throws Exception {
        return a.store().preAuthKeys().create(user.id(), true, false, List.of(), Instant.now().plusSeconds(3600)).fullKey();
    }

    @Override
    public void close() {
        machines.forEach(TestMachine::close);
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        replicas.forEach(ControlServer::close);
        pg.close();
    }
}
