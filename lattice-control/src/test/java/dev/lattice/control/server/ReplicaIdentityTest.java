package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.config.ConfigException;
import dev.lattice.control.replica.DerpIdentity;
import dev.lattice.controlclient.ServerKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicas on one PostgreSQL database are one server to clients: they present the same Noise key at {@code /key},
 * and their DERP servers are one region: each server's key derived from the DERP key they share (kept in the
 * database, created once however many replicas start at the same time) and its own URL, one mesh key for all.
 * A key file that exists seeds the database or must agree with it.
 */
@Timeout(90)
class ReplicaIdentityTest {
    @TempDir
    Path dir;
    PostgresReplicas pg;
    final List<ControlServer> servers = java.util.Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void database() {
        pg = PostgresReplicas.create();
    }

    @AfterEach
    void stop() {
        servers.forEach(ControlServer::close);
        if (pg != null) pg.close();
    }

    ControlServer start(String name) throws Exception {
        ControlServer s = ControlServer.start(pg.config(dir.resolve(name)));
        servers.add(s);
        return s;
    }

    @Test
    void replicasStartedTogetherPresentOneNoiseKeyAndDerpKeysDerivedFromOne() throws Exception {
        List<Future<ControlServer>> starting = new ArrayList<>();
        List<ControlServer> started = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
            for (String n : List.of("a", "b", "c")) starting.add(pool.submit(() -> start(n)));
            for (Future<ControlServer> f : starting) started.add(f.get());
        }
        ControlServer a = started.get(0);
        for (ControlServer s : started) {
            assertThat(ServerKey.fetch(s.config().serverUrl(), CapabilityVersion.CURRENT))
                    .as("/key of %s", s.config().serverUrl()).isEqualTo(a.noiseKey().publicKey());
            assertThat(s.derp().meshKey()).as("one mesh key").isEqualTo(a.derp().meshKey());
            if (s != a) assertThat(s.derp().publicKey()).as("a DERP server of its own").isNotEqualTo(a.derp().publicKey());
        }
        assertThat(a.derp().publicKey()).isNotEqualTo(a.noiseKey().publicKey());
        // Nothing on disk: the database is where the keys are.
        for (String n : List.of("a", "b", "c")) {
            assertThat(dir.resolve(n).resolve("noise.key")).doesNotExist();
            assertThat(dir.resolve(n).resolve("derp.key")).doesNotExist();
        }
        // A restart keeps them.
        servers.remove(a);
        a.close();
        ControlServer again = ControlServer.start(a.config());
        servers.add(again);
        assertThat(again.noiseKey()).isEqualTo(started.get(1).noiseKey());
        assertThat(again.derp().publicKey()).as("same URL, same DERP key").isEqualTo(a.derp().publicKey());
    }

    @Test
    void anExistingKeyFileSeedsTheDatabaseAndAFileThatDisagreesIsRefused() throws Exception {
        MachinePrivateKey mine = MachinePrivateKey.generate();
        NodePrivateKey myDerp = NodePrivateKey.generate();
        Files.createDirectories(dir.resolve("a"));
        Files.writeString(dir.resolve("a/noise.key"), mine.toText());
        Files.writeString(dir.resolve("a/derp.key"), myDerp.toText());
        ControlServer a = start("a");
        assertThat(a.noiseKey()).isEqualTo(mine);
        ControlServer b = start("b");
        assertThat(b.noiseKey()).as("the second replica takes the key the first stored").isEqualTo(mine);
        assertThat(b.derp().privateKey()).as("derived from the file's key and b's URL")
                .isEqualTo(DerpIdentity.serverKey(myDerp, b.config().derpUrl()));
        assertThat(b.derp().meshKey()).isEqualTo(DerpIdentity.meshKey(myDerp));

        Files.createDirectories(dir.resolve("c"));
        Files.writeString(dir.resolve("c/noise.key"), MachinePrivateKey.generate().toText());
        assertThatThrownBy(() -> start("c")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("noise.private_key_path")
                .hasMessageContaining("different key than the one the replicas share");
    }
}
