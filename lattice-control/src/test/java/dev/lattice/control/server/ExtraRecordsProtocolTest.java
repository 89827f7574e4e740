package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.config.ConfigException;
import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.store.User;
import dev.lattice.wire.tailcfg.DNSRecord;
import dev.lattice.wire.tailcfg.MapResponse;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code dns.extra_records_path} end to end: the file's records reach connected clients in DNSConfig.ExtraRecords as
 * the file changes, in a DNS-only map delta; a deleted or malformed file keeps the last good records; and, as with
 * Headscale, the server does not start on a missing or malformed file.
 */
@Timeout(60)
class ExtraRecordsProtocolTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    @TempDir
    Path dir;
    ControlServer server;
    EventLoopGroup group;

    @AfterEach
    void stop() {
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (server != null) server.close();
    }

    private Path records() {
        return dir.resolve("extra-records.json");
    }

    private ControlConfig config() throws IOException {
        String yaml = TestServer.yaml(dir, TestServer.freePort(), false)
                .replace("dns:\n", "dns:\n  extra_records_path: " + records() + "\n");
        return ControlConfig.parse(yaml, dir);
    }

    static String json(String name, String ip) {
        return "[{\"name\": \"" + name + "\", \"type\": \"A\", \"value\": \"" + ip + "\"}]";
    }

    static List<DNSRecord> recordsOf(String name, String ip) {
        return List.of(new DNSRecord(name, "A", ip));
    }

    @Test
    void theServerDoesNotStartWithAMissingOrMalformedFile() throws Exception {
        ControlConfig cfg = config();
        assertThatThrownBy(() -> ControlServer.start(cfg)).isInstanceOf(ConfigException.class)
                .hasMessage("dns.extra_records_path: cannot read " + records() + ": no such file");
        Files.writeString(records(), "[{\"name\": \"a.example\", \"type\": \"A\", \"value\": \"fd7a::1\"}]");
        assertThatThrownBy(() -> ControlServer.start(cfg)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("dns.extra_records_path: " + records() + ": record 0 (a.example)")
                .hasMessageContaining("A needs an IPv4 address");
        // and nothing was left behind: a good file starts it on the same config
        Files.writeString(records(), json("a.example", "100.64.0.1"));
        server = ControlServer.start(cfg);
        assertThat(server.dnsConfig().extraRecords()).isEqualTo(recordsOf("a.example", "100.64.0.1"));
    }

    @Test
    void fileChangesReachConnectedClientsAndBadStatesKeepTheLastGoodRecords() throws Exception {
        Files.writeString(records(), json("v1.example", "100.64.0.1"));
        server = ControlServer.start(config());
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        User alice = server.store().users().create("alice", "", "");
        server.tailnet().announceFull();
        String key = server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(600)).fullKey();

        try (TestMachine m = new TestMachine(group, server.config().serverUrl(), "client")) {
            m.register(key);
            m.openStream();
            MapResponse full = m.await(WAIT, x -> x.node() != null);
            assertThat(full.dnsConfig().extraRecords()).isEqualTo(recordsOf("v1.example", "100.64.0.1"));
            assertThat(full.dnsConfig().proxied()).isTrue();

            // written in place: a DNS-only delta with the whole DNS config (a client replaces it wholesale)
            Files.writeString(records(), json("v2.example", "100.64.0.2"));
            MapResponse d2 = nextDns(m);
            assertThat(d2.dnsConfig().extraRecords()).isEqualTo(recordsOf("v2.example", "100.64.0.2"));
            assertThat(d2.dnsConfig().domains()).containsExactly("tailnet.test");
            assertThat(d2.node()).isNull();
            assertThat(d2.peers()).isNull();
            assertThat(d2.peersChanged()).isNull();
            assertThat(d2.packetFilter()).isNull();

            // atomic replace
            Path tmp = Files.writeString(dir.resolve("extra-records.json.tmp"), json("v3.example", "100.64.0.3"));
            Files.move(tmp, records(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            assertThat(nextDns(m).dnsConfig().extraRecords()).isEqualTo(recordsOf("v3.example", "100.64.0.3"));

            // deleted, then re-created: the records stay meanwhile
            Files.delete(records());
            Thread.sleep(500);
            assertThat(server.dnsConfig().extraRecords()).isEqualTo(recordsOf("v3.example", "100.64.0.3"));
            Files.writeString(records(), json("v4.example", "100.64.0.4"));
            assertThat(nextDns(m).dnsConfig().extraRecords()).isEqualTo(recordsOf("v4.example", "100.64.0.4"));

            // malformed: nothing is sent and the server keeps serving the last good records; once fixed, the next
            // DNS config the client gets is the fixed one
            Files.writeString(records(), "[{\"name\": ");
            Thread.sleep(500);
            assertThat(server.dnsConfig().extraRecords()).isEqualTo(recordsOf("v4.example", "100.64.0.4"));
            Files.writeString(records(), "[]");
            MapResponse cleared = nextDns(m);
            assertThat(cleared.dnsConfig().extraRecords()).as("all records removed").isNull();
            assertThat(cleared.dnsConfig().proxied()).isTrue();

            // a client that connects now gets the current records in its full map
            Files.writeString(records(), json("v5.example", "100.64.0.5"));
            assertThat(nextDns(m).dnsConfig().extraRecords()).isEqualTo(recordsOf("v5.example", "100.64.0.5"));
            try (TestMachine late = new TestMachine(group, server.config().serverUrl(), "late")) {
                late.register(key);
                late.openStream();
                assertThat(late.await(WAIT, x -> x.node() != null).dnsConfig().extraRecords())
                        .isEqualTo(recordsOf("v5.example", "100.64.0.5"));
            }
        }
    }

    /** The next message carrying a DNS config. */
    private static MapResponse nextDns(TestMachine m) throws InterruptedException {
        return m.await(WAIT, x -> x.dnsConfig() != null);
    }
}
