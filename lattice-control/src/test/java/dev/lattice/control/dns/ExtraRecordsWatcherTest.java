package dev.lattice.control.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.config.ConfigException;
import dev.lattice.wire.tailcfg.DNSRecord;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Following a {@code dns.extra_records_path} file as Headscale does: every way of changing a file reaches the
 * listener; a missing, empty or malformed file keeps the last good records; at start it is refused.
 */
@Timeout(60)
class ExtraRecordsWatcherTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    @TempDir
    Path dir;
    ExtraRecordsWatcher watcher;
    final LinkedBlockingQueue<List<DNSRecord>> heard = new LinkedBlockingQueue<>();

    @AfterEach
    void close() {
        if (watcher != null) watcher.close();
    }

    static String json(String name, String ip) {
        return "[{\"name\": \"" + name + "\", \"type\": \"A\", \"value\": \"" + ip + "\"}]";
    }

    static List<DNSRecord> records(String name, String ip) {
        return List.of(new DNSRecord(name, "A", ip));
    }

    private Path file(String content) throws IOException {
        return Files.writeString(dir.resolve("extra-records.json"), content);
    }

    private void start(Path file) {
        watcher = ExtraRecordsWatcher.open(file);
        watcher.start(heard::add);
    }

    /** The next records handed on; they must be {@code want} (nothing else in between). */
    private void expectNext(List<DNSRecord> want) throws InterruptedException {
        List<DNSRecord> got = heard.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(got).as("records handed on within " + WAIT).isEqualTo(want);
        assertThat(watcher.records()).isEqualTo(want);
    }

    private void expectNothingFor(Duration d, List<DNSRecord> still) throws InterruptedException {
        assertThat(heard.poll(d.toMillis(), TimeUnit.MILLISECONDS)).as("no change").isNull();
        assertThat(watcher.records()).isEqualTo(still);
    }

    @Test
    void startupRefusesAMissingFileADirectoryAndMalformedContentAsHeadscaleDoes() throws IOException {
        assertThatThrownBy(() -> ExtraRecordsWatcher.open(dir.resolve("nope.json")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("dns.extra_records_path: cannot read")
                .hasMessageContaining("nope.json: no such file");
        assertThatThrownBy(() -> ExtraRecordsWatcher.open(dir))
                .isInstanceOf(ConfigException.class).hasMessageContaining("is a directory");
        Path bad = file("[{\"name\": \"a\"");
        assertThatThrownBy(() -> ExtraRecordsWatcher.open(bad))
                .isInstanceOf(ConfigException.class).hasMessageContaining(bad.toString()).hasMessageContaining("not valid JSON");
    }

    @Test
    void anEmptyFileAtStartIsNoRecordsYet() throws Exception {
        Path f = file("");
        start(f);
        assertThat(watcher.records()).isEmpty();
        Files.writeString(f, json("a.example", "100.64.0.1"));
        expectNext(records("a.example", "100.64.0.1"));
    }

    @Test
    void everyWayOfChangingTheFileIsSeenAndBadStatesKeepTheLastGoodRecords() throws Exception {
        Path f = file(json("v1.example", "100.64.0.1"));
        start(f);
        assertThat(watcher.records()).isEqualTo(records("v1.example", "100.64.0.1"));

        // written in place
        Files.writeString(f, json("v2.example", "100.64.0.2"));
        expectNext(records("v2.example", "100.64.0.2"));

        // atomic replace: a temporary file renamed over it
        Path tmp = Files.writeString(dir.resolve(".extra-records.json.tmp"), json("v3.example", "100.64.0.3"));
        Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        expectNext(records("v3.example", "100.64.0.3"));

        // copied in from elsewhere
        Path elsewhere = Files.createTempFile("records", ".json");
        try {
            Files.writeString(elsewhere, json("v4.example", "100.64.0.4"));
            Files.copy(elsewhere, f, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.delete(elsewhere);
        }
        expectNext(records("v4.example", "100.64.0.4"));

        // edited in place slowly, as an editor or a script might: truncated, half written, then finished
        byte[] v5 = json("v5.example", "100.64.0.5").getBytes(StandardCharsets.UTF_8);
        try (OutputStream out = Files.newOutputStream(f, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            out.write(v5, 0, 10);
            out.flush();
            Thread.sleep(400);
            out.write(v5, 10, v5.length - 10);
        }
        expectNext(records("v5.example", "100.64.0.5"));

        // deleted: the records stay
        Files.delete(f);
        expectNothingFor(Duration.ofMillis(500), records("v5.example", "100.64.0.5"));
        // and re-created
        Files.writeString(f, json("v6.example", "100.64.0.6"));
        expectNext(records("v6.example", "100.64.0.6"));

        // malformed, then emptied: the last good records stay
        Files.writeString(f, "[{\"name\": \"v7.example\", \"type\": \"A\", \"value\": \"not-an-ip\"}]");
        expectNothingFor(Duration.ofMillis(500), records("v6.example", "100.64.0.6"));
        Files.writeString(f, "");
        expectNothingFor(Duration.ofMillis(500), records("v6.example", "100.64.0.6"));
        // fixed
        Files.writeString(f, json("v8.example", "100.64.0.8"));
        expectNext(records("v8.example", "100.64.0.8"));

        // rewritten with the same records (another order, duplicated): nothing to hand on
        Files.writeString(f, "[" + json("v8.example", "100.64.0.8").replace("[", "").replace("]", "") + ","
                + json("v8.example", "100.64.0.8").replace("[", "").replace("]", "") + "]");
        expectNothingFor(Duration.ofMillis(500), records("v8.example", "100.64.0.8"));
    }

    @Test
    void aSymlinkedFileFollowsItsTargetsSwapsAsAConfigMapMountDoes() throws Exception {
        // Kubernetes: records.json -> ..data/records.json, ..data -> ..v1; an update renames a new ..data over it.
        Files.createDirectory(dir.resolve("..v1"));
        Files.writeString(dir.resolve("..v1/records.json"), json("v1.example", "100.64.0.1"));
        Files.createSymbolicLink(dir.resolve("..data"), Path.of("..v1"));
        Path f = Files.createSymbolicLink(dir.resolve("records.json"), Path.of("..data/records.json"));
        start(f);
        assertThat(watcher.records()).isEqualTo(records("v1.example", "100.64.0.1"));

        Files.createDirectory(dir.resolve("..v2"));
        Files.writeString(dir.resolve("..v2/records.json"), json("v2.example", "100.64.0.2"));
        Path tmpLink = Files.createSymbolicLink(dir.resolve("..data_tmp"), Path.of("..v2"));
        Files.move(tmpLink, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        expectNext(records("v2.example", "100.64.0.2"));
    }

    @Test
    void aDirectoryThatGoesAwayAndComesBackIsWatchedAgain() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("conf"));
        Path f = Files.writeString(sub.resolve("records.json"), json("v1.example", "100.64.0.1"));
        watcher = ExtraRecordsWatcher.open(f, Duration.ofMillis(200), true);
        watcher.start(heard::add);
        Files.delete(f);
        Files.delete(sub);
        expectNothingFor(Duration.ofMillis(600), records("v1.example", "100.64.0.1"));
        Files.createDirectory(sub);
        Files.writeString(f, json("v2.example", "100.64.0.2"));
        expectNext(records("v2.example", "100.64.0.2"));
        // and it is followed from then on
        Files.writeString(f, json("v3.example", "100.64.0.3"));
        expectNext(records("v3.example", "100.64.0.3"));
    }

    @Test
    void withoutAWatchThePeriodicReReadFollowsTheFile() throws Exception {
        Path f = file(json("v1.example", "100.64.0.1"));
        watcher = ExtraRecordsWatcher.open(f, Duration.ofMillis(100), false);
        watcher.start(heard::add);
        Files.writeString(f, json("v2.example", "100.64.0.2"));
        expectNext(records("v2.example", "100.64.0.2"));
    }
}
